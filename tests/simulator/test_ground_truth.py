"""Ground truth: movement identity, retention bounds, an independent ARR recomputation, CSV safety,
and that the rendered records say what the truth says (so the dbt layer can re-derive it)."""

from __future__ import annotations

import calendar
import io
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from connectors.simulator.dataset.fx import add_months
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.ground_truth import arr_monthly
from connectors.simulator.dataset.store import Dataset
from tests.simulator.plain_arr import assert_truth_matches_plain_loop

AS_OF = date(2025, 6, 15)
MOVES = ("new_arr", "expansion_arr", "contraction_arr", "churned_arr", "reactivation_arr")


@pytest.fixture(scope="module")
def small() -> Dataset:
    return generate("small", seed=11, as_of=AS_OF)


def test_movement_identity_and_signs(small: Dataset) -> None:
    arr = small.ground_truth["account_arr_monthly"]
    total = arr["previous_arr"] + arr[list(MOVES)].sum(axis=1)
    assert np.allclose(total, arr["arr"], atol=1e-6)
    assert (arr["churned_arr"] <= 0).all() and (arr["contraction_arr"] <= 0).all()
    assert (arr["expansion_arr"] >= 0).all() and (arr["new_arr"] >= 0).all()
    assert set(arr["movement"]) == {"new", "expansion", "contraction", "churn", "reactivation", "flat"}
    assert arr["month"].max() <= "2025-06-01"
    assert not arr.duplicated(["global_account_key", "month"]).any()


def test_retention_bounds(small: Dataset) -> None:
    ret = small.ground_truth["retention_monthly"]
    full = ret[ret["cohort_accounts"] > 0]
    assert len(full) >= 24
    assert ((full["grr"] >= 0) & (full["grr"] <= 1 + 1e-12)).all()
    assert ((full["nrr"] > 0.3) & (full["nrr"] < 3)).all()
    assert ret.loc[ret["cohort_accounts"] == 0, "nrr"].isna().all()
    assert ((ret["logo_churn_rate"].fillna(0) >= 0) & (ret["logo_churn_rate"].fillna(0) <= 1)).all()


def _eom(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def test_arr_recomputed_with_a_plain_loop(small: Dataset) -> None:
    assert_truth_matches_plain_loop(small, AS_OF)


def test_movement_edge_cases() -> None:
    lines = pd.DataFrame(
        {
            "global_account_key": ["A", "A", "A", "B"],
            "service_start_date": ["2024-01-15", "2024-03-01", "2025-03-10", "2024-01-01"],
            "service_end_date": ["2025-01-14", "2024-12-31", "2026-03-09", "2024-12-31"],
            "mrr_usd": [100.0, 50.0, 80.0, 10.0],
        }
    )
    out = arr_monthly(lines, date(2025, 6, 15)).set_index(["global_account_key", "month"])
    assert out.loc[("A", "2024-01-01"), "movement"] == "new"
    assert out.loc[("A", "2024-03-01"), "movement"] == "expansion"
    assert out.loc[("A", "2024-12-01"), "arr"] == 1800.0  # inclusive Dec 31 end counts December
    assert out.loc[("A", "2025-01-01"), "movement"] == "churn"  # mid-month end does not count
    assert out.loc[("A", "2025-03-01"), "movement"] == "reactivation"
    assert out.loc[("B", "2025-01-01"), "churned_arr"] == -120.0
    assert ("B", "2025-02-01") not in out.index
    assert out.loc[("A", "2025-06-01"), "movement"] == "flat"


def test_tables_are_csv_safe(small: Dataset) -> None:
    for name, df in small.ground_truth.items():
        for col, dtype in df.dtypes.items():
            assert dtype in (np.dtype("int64"), np.dtype("float64"), np.dtype("bool")) or dtype == "str", (name, col)
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        buf.seek(0)
        back = pd.read_csv(
            buf,
            dtype={c: ("str" if df[c].dtype == "str" else df[c].dtype) for c in df.columns},
            keep_default_na=False,
            na_values={c: [""] for c in df.columns if df[c].dtype != "str"},
        )
        pd.testing.assert_frame_equal(back, df, check_exact=True, obj=name)


def test_accounts_and_aliases(small: Dataset) -> None:
    acc = small.ground_truth["accounts"]
    assert acc["global_account_key"].is_unique and acc["domain"].is_unique
    assert set(acc["revenue_system"]) == {"salesforce", "hubspot", ""}
    assert ((acc["link"] == "hubspot_only") == (acc["salesforce_account_id"] == "")).all()
    keys = set(acc["global_account_key"])
    assert set(acc["ultimate_parent_account_key"]) <= keys
    assert (acc["parent_account_key"] != "").any()
    aliases = small.ground_truth["account_aliases"]
    assert set(aliases["reason"]) == {"merged", "duplicate_company"} and set(aliases["global_account_key"]) <= keys
    lines = small.ground_truth["contract_lines"]
    sor = acc.set_index("global_account_key")["revenue_system"]
    assert (lines["source_system"].to_numpy() == sor.loc[lines["global_account_key"]].to_numpy()).all()


def test_records_say_what_the_truth_says(small: Dataset) -> None:
    """SF lines: mrr = TotalPrice / Term_Months__c, FX from DatedConversionRate at CloseDate, and every
    shortened line is superseded by a Renewal line of the same product starting the next day."""
    lines = small.ground_truth["contract_lines"]
    with small.reading() as cur:
        sf = cur.execute(
            'SELECT l."Id", l."TotalPrice" / l."Term_Months__c", l."ServiceDate", o."Type", r."ConversionRate", '
            'l."ProductCode" FROM sf."OpportunityLineItem" l JOIN sf."Opportunity" o ON o."Id" = l."OpportunityId" '
            'JOIN sf."DatedConversionRate" r ON r."IsoCode" = o."CurrencyIsoCode" AND r."StartDate" <= o."CloseDate" '
            'AND o."CloseDate" < r."NextStartDate"'
        ).fetchall()
        hs = dict(
            cur.execute(
                "SELECT id, CAST(amount AS DOUBLE) / CASE recurringbillingfrequency WHEN 'monthly' "
                "THEN 1 WHEN 'quarterly' THEN 3 ELSE 12 END FROM hs.line_items"
            ).fetchall()
        )
    rec = {r[0]: r[1:] for r in sf}
    for r in lines.itertuples():
        if r.source_system == "salesforce":
            mrr, start, _, rate, _ = rec[r.source_line_id]
            assert math.isclose(mrr, r.mrr_local, rel_tol=1e-9) and rate == r.fx_rate
            assert start.isoformat() == r.service_start_date
        else:
            assert math.isclose(hs[r.source_line_id], r.mrr_local, rel_tol=1e-9)
    renewals = {
        (r.global_account_key, r.product_code, r.service_start_date) for r in lines.itertuples() if r.is_renewal
    }
    shortened = 0
    for r in lines.itertuples():
        natural = add_months(date.fromisoformat(r.service_start_date), r.term_months) - timedelta(days=1)
        end = date.fromisoformat(r.service_end_date)
        if end != natural:
            shortened += 1
            assert end < natural
            nxt = (end + timedelta(days=1)).isoformat()
            assert (r.global_account_key, r.product_code, nxt) in renewals
    assert shortened > 0


def test_stakeholders(small: Dataset) -> None:
    st = small.ground_truth["account_stakeholders"]
    assert len(st) == len(small.ground_truth["accounts"])
    roles = {r for v in st["roles_present"] if v for r in v.split(";")}
    assert roles <= {
        "Champion",
        "Economic Buyer",
        "Decision Maker",
        "Influencer",
        "Blocker",
        "Technical Buyer",
        "User",
        "Other",
    }
    assert {"Champion", "Blocker", "Technical Buyer"} <= roles
    assert all(v.split(";") == sorted(v.split(";")) for v in st["roles_present"] if v)
    assert st["engaged_contacts_90d"].sum() > 0
