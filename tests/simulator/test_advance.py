"""advance(): ~1% change per day, stamps inside the new day, truth kept consistent, model recoverable."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from connectors.simulator.dataset.advance import NEW_HS_PROPERTY, NEW_SF_FIELD, advance
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset

AS_OF = date(2025, 6, 15)
MOVES = ["new_arr", "expansion_arr", "contraction_arr", "churned_arr", "reactivation_arr"]


def _stamped_objects(ds: Dataset) -> list[str]:
    return [
        o
        for o in ds.sf_objects()
        if "SystemModstamp" in {f["name"] for f in ds.sf_describe[o]["fields"]}
        and o not in ("CurrencyType", "DatedConversionRate", "User")
    ]


def test_one_day_changes_about_one_percent() -> None:
    ds = generate("small", seed=5, as_of=AS_OF)
    old = ds.clock.replace(tzinfo=None)
    total = sum(ds.count(ds.sf_table(o)) for o in _stamped_objects(ds))
    summary = advance(ds, days=1)
    new = ds.clock.replace(tzinfo=None)
    assert ds.clock == datetime(2025, 6, 16, tzinfo=UTC) and ds.meta["as_of"] == "2025-06-16"
    changed = 0
    with ds.reading() as cur:
        for obj in _stamped_objects(ds):
            n, lo, hi = cur.execute(
                f'SELECT count(*), min("SystemModstamp"), max("SystemModstamp") FROM '
                f'{ds.sf_table(obj)} WHERE "SystemModstamp" > ?',
                [old],
            ).fetchone()
            changed += n
            if n:
                assert old < lo and hi < new, obj
            stale = cur.execute(f'SELECT count(*) FROM {ds.sf_table(obj)} WHERE "SystemModstamp" = ?', [old])
            assert stale.fetchone()[0] == 0
        hs_changed = cur.execute(
            'SELECT count(*), min("updatedAt") FROM hs.deals WHERE "updatedAt" >= ?', [old]
        ).fetchone()
    assert 0.003 < changed / total < 0.03, (changed, total)
    assert hs_changed[0] > 0 and hs_changed[1] > old
    assert summary["Opportunity"]["update"] > 0 and summary["Task"]["insert"] > 0


def test_truth_stays_consistent_and_moves_forward() -> None:
    ds = generate("small", seed=6, as_of=AS_OF)
    before_lines = len(ds.ground_truth["contract_lines"])
    summary = advance(ds, days=25)
    assert ds.clock.date() == AS_OF + timedelta(days=25)
    lines = ds.ground_truth["contract_lines"]
    assert len(lines) > before_lines
    assert summary["Opportunity"].get("renewal", 0) + summary["Opportunity"].get("closed_won", 0) > 0
    arr = ds.ground_truth["account_arr_monthly"]
    assert np.allclose(arr["previous_arr"] + arr[MOVES].sum(axis=1), arr["arr"], atol=1e-6)
    assert arr["month"].max() == "2025-07-01"
    ret = ds.ground_truth["retention_monthly"]
    full = ret[ret["cohort_accounts"] > 0]
    assert ((full["grr"] >= 0) & (full["grr"] <= 1 + 1e-12)).all()
    # new SF lines are rendered: each truth line has its OLI with the same mrr
    with ds.reading() as cur:
        oli = dict(
            cur.execute(
                'SELECT "Id", "TotalPrice" / "Term_Months__c" FROM sf."OpportunityLineItem" '
                'WHERE "Term_Months__c" IS NOT NULL'
            ).fetchall()
        )
        clock = ds.clock.replace(tzinfo=None)
        oldest = cur.execute('SELECT min("SystemModstamp") FROM sf."Task" WHERE "IsDeleted"').fetchone()[0]
        fields = [
            r[0]
            for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE "
                "table_schema = 'sf' AND table_name = 'Account'"
            ).fetchall()
        ]
    sf_lines = lines[lines["source_system"] == "salesforce"]
    assert all(abs(oli[r.source_line_id] - r.mrr_local) < 1e-6 for r in sf_lines.itertuples())
    assert oldest is None or oldest >= clock - timedelta(days=15)
    # the new custom field appeared in both CRMs (25 days at 25%/day)
    assert NEW_SF_FIELD in fields and NEW_SF_FIELD in {f["name"] for f in ds.sf_describe["Account"]["fields"]}
    assert NEW_HS_PROPERTY in ds.hs_property_names("companies")


def test_formula_drift_does_not_bump_modstamp() -> None:
    ds = generate("tiny", seed=8, as_of=AS_OF)
    before = dict(ds.con.execute('SELECT "Id", ("Health_Score__c", "SystemModstamp") FROM sf."Account"').fetchall())
    summary = advance(ds, days=5)
    after = dict(ds.con.execute('SELECT "Id", ("Health_Score__c", "SystemModstamp") FROM sf."Account"').fetchall())
    drifted = [i for i in before if i in after and before[i][0] != after[i][0] and before[i][1] == after[i][1]]
    assert summary["Account"]["formula_drift"] > 0 and drifted


def test_deterministic() -> None:
    a, b = generate("tiny", seed=9, as_of=AS_OF), generate("tiny", seed=9, as_of=AS_OF)
    assert advance(a, days=2) == advance(b, days=2)
    pd.testing.assert_frame_equal(a.ground_truth["account_arr_monthly"], b.ground_truth["account_arr_monthly"])


def test_model_recovered_from_saved_truth_and_replay_refused() -> None:
    ds = generate("tiny", seed=10, as_of=AS_OF)
    for name, df in list(ds.ground_truth.items()):  # what a folder save/load does to the truth
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        buf.seek(0)
        ds.ground_truth[name] = pd.read_csv(
            buf,
            dtype={c: ("str" if df[c].dtype == "str" else df[c].dtype) for c in df.columns},
            keep_default_na=False,
            na_values={c: [""] for c in df.columns if df[c].dtype != "str"},
        )
    advance(ds, days=2)
    assert ds.clock.date() == AS_OF + timedelta(days=2)
    replay = generate("tiny", seed=10, as_of=AS_OF)
    replay.ground_truth = {}
    with pytest.raises(ValueError, match="replayed CRM export"):
        advance(replay)
