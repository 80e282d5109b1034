"""A deliberately naive ARR recomputation from ``contract_lines`` (plain loops, no numpy) for the tests."""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from datetime import date

from connectors.simulator.dataset.fx import add_months
from connectors.simulator.dataset.store import Dataset


def _eom(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def plain_loop_arr(ds: Dataset, as_of: date) -> dict[tuple[str, str], float]:
    """(account, month) -> ARR under the month-end rule, from the first active month to the churn row."""
    by_account: dict[str, list[tuple[date, date, float]]] = defaultdict(list)
    for r in ds.ground_truth["contract_lines"].itertuples():
        by_account[r.global_account_key].append(
            (date.fromisoformat(r.service_start_date), date.fromisoformat(r.service_end_date), 12 * r.mrr_usd)
        )
    expected: dict[tuple[str, str], float] = {}
    as_of_month = as_of.replace(day=1)
    for key, items in by_account.items():
        month = min(s for s, _, _ in items).replace(day=1)
        values = []
        while month <= as_of_month:
            eom = _eom(month)
            values.append((month, sum(v for s, e, v in items if s <= min(eom, as_of) and e >= eom)))
            month = add_months(month, 1)
        active = [m for m, v in values if round(v, 2) > 0]
        if not active:
            continue
        stop = min(add_months(active[-1], 1), as_of_month)
        for m, v in values:
            if active[0] <= m <= stop:
                expected[(key, m.isoformat())] = v
    return expected


def assert_truth_matches_plain_loop(ds: Dataset, as_of: date) -> None:
    expected = plain_loop_arr(ds, as_of)
    got = ds.ground_truth["account_arr_monthly"]
    got_map = {(k, m): v for k, m, v in zip(got["global_account_key"], got["month"], got["arr"], strict=True)}
    assert set(got_map) == set(expected)
    assert all(math.isclose(got_map[k], expected[k], abs_tol=0.011) for k in expected)
