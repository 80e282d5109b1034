"""advance(): ~1% change per day, stamps inside the new day, truth kept consistent, model recoverable."""

from __future__ import annotations

import calendar
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from connectors.simulator.dataset.advance import ENGAGEMENTS, NEW_HS_PROPERTY, NEW_SF_FIELD, advance
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset
from tests.simulator.plain_arr import assert_truth_matches_plain_loop

AS_OF = date(2025, 6, 15)
MOVES = ["new_arr", "expansion_arr", "contraction_arr", "churned_arr", "reactivation_arr"]
WIRE = "%Y-%m-%dT%H:%M:%S.%gZ"
_ENG_TYPE_IDS = {  # (company->eng, eng->company, contact->eng, eng->contact, deal->eng, eng->deal), B5
    "calls": (181, 182, 193, 194, 205, 206),
    "emails": (185, 186, 197, 198, 209, 210),
    "meetings": (187, 188, 199, 200, 211, 212),
    "notes": (189, 190, 201, 202, 213, 214),
    "tasks": (191, 192, 203, 204, 215, 216),
}


@dataclass
class Advanced:
    ds: Dataset
    old: datetime  # clock before advancing (naive UTC)
    lines_before: pd.DataFrame
    ids_before: dict[str, set[str]]
    archived_before: dict[str, set[str]]
    summary: dict[str, dict[str, int]]


@pytest.fixture(scope="module")
def month() -> Advanced:
    """A small dataset advanced 30 days (2025-06-15 -> 2025-07-15, across a month boundary)."""
    ds = generate("small", seed=6, as_of=AS_OF)
    old = ds.clock.replace(tzinfo=None)
    lines = ds.ground_truth["contract_lines"].copy()
    with ds.reading() as cur:
        archived = {
            t: {r[0] for r in cur.execute(f"SELECT id FROM {ds.hs_table(t)} WHERE archived").fetchall()}
            for t in ds.hs_object_types()
        }
    return Advanced(ds, old, lines, _ids(ds), archived, advance(ds, days=30))


def _counts(ds: Dataset) -> dict[str, int]:
    with ds.reading() as cur:
        out = {f"sf.{o}": cur.execute(f"SELECT count(*) FROM {ds.sf_table(o)}").fetchone()[0] for o in ds.sf_objects()}
        for t in ds.hs_object_types():
            out[f"hs.{t}"] = cur.execute(f"SELECT count(*) FROM {ds.hs_table(t)}").fetchone()[0]
    return out


def _ids(ds: Dataset) -> dict[str, set[str]]:
    with ds.reading() as cur:
        out = {
            f"sf.{o}": {r[0] for r in cur.execute(f'SELECT "Id" FROM {ds.sf_table(o)}').fetchall()}
            for o in ds.sf_objects()
        }
        for t in ds.hs_object_types():
            out[f"hs.{t}"] = {r[0] for r in cur.execute(f"SELECT id FROM {ds.hs_table(t)}").fetchall()}
    return out


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
    records_before = sum(_counts(ds).values())
    ids_before = _ids(ds)
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
        hs_changed = 0
        for t in ds.hs_object_types():
            n, lo, hi = cur.execute(
                f'SELECT count(*), min("updatedAt"), max("updatedAt") FROM {ds.hs_table(t)} WHERE "updatedAt" > ?',
                [old],
            ).fetchone()
            hs_changed += n
            if n:
                assert old < lo and hi < new, t
    assert 0.003 < changed / total < 0.03, (changed, total)
    # both CRMs together: changed or inserted rows by stamp, plus purged rows
    ids_after = _ids(ds)
    purged = sum(len(ids_before[k] - ids_after.get(k, set())) for k in ids_before)
    all_changed = sum_sf = 0
    with ds.reading() as cur:
        for obj in ds.sf_objects():
            if "SystemModstamp" in {f["name"] for f in ds.sf_describe[obj]["fields"]}:
                sum_sf += cur.execute(
                    f'SELECT count(*) FROM {ds.sf_table(obj)} WHERE "SystemModstamp" > ?', [old]
                ).fetchone()[0]
    all_changed = sum_sf + hs_changed + purged
    assert 0.006 < all_changed / records_before < 0.02, (all_changed, records_before)
    assert hs_changed > 0.25 * all_changed  # HubSpot gets real work every night
    assert summary["Opportunity"]["update"] > 0 and summary["Task"]["insert"] > 0
    for t in (*ENGAGEMENTS, "contacts"):
        assert summary[t]["insert"] > 0 and summary[t]["update"] > 0, t


def test_truth_stays_consistent_and_moves_forward(month: Advanced) -> None:
    ds, summary = month.ds, month.summary
    assert ds.clock.date() == AS_OF + timedelta(days=30)
    lines = ds.ground_truth["contract_lines"]
    assert len(lines) > len(month.lines_before)
    assert summary["Opportunity"].get("renewal", 0) + summary["Opportunity"].get("closed_won", 0) > 0
    arr = ds.ground_truth["account_arr_monthly"]
    assert np.allclose(arr["previous_arr"] + arr[MOVES].sum(axis=1), arr["arr"], atol=1e-6)
    assert not arr.duplicated(["global_account_key", "month"]).any()
    assert arr["month"].max() == "2025-07-01"
    ret = ds.ground_truth["retention_monthly"]
    full = ret[ret["cohort_accounts"] > 0]
    assert ((full["grr"] >= 0) & (full["grr"] <= 1 + 1e-12)).all()
    st = ds.ground_truth["account_stakeholders"]
    assert len(st) == len(ds.ground_truth["accounts"]) and ds.ground_truth["accounts"]["domain"].is_unique
    # new lines are rendered: SF mrr = TotalPrice / term with the close-date rate; HubSpot mrr = amount / period
    with ds.reading() as cur:
        oli = {
            r[0]: r[1:]
            for r in cur.execute(
                'SELECT l."Id", l."TotalPrice" / l."Term_Months__c", r."ConversionRate" '
                'FROM sf."OpportunityLineItem" l JOIN sf."Opportunity" o ON o."Id" = l."OpportunityId" '
                'JOIN sf."DatedConversionRate" r ON r."IsoCode" = o."CurrencyIsoCode" '
                'AND r."StartDate" <= o."CloseDate" AND o."CloseDate" < r."NextStartDate" '
                'WHERE l."Term_Months__c" IS NOT NULL'
            ).fetchall()
        }
        hs = dict(
            cur.execute(
                "SELECT id, CAST(amount AS DOUBLE) / CASE recurringbillingfrequency WHEN 'monthly' "
                "THEN 1 WHEN 'quarterly' THEN 3 ELSE 12 END FROM hs.line_items WHERE NOT archived"
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
    for r in lines.itertuples():
        if r.source_system == "salesforce":
            assert abs(oli[r.source_line_id][0] - r.mrr_local) < 1e-6 and oli[r.source_line_id][1] == r.fx_rate
        else:
            assert math.isclose(hs[r.source_line_id], r.mrr_local, rel_tol=1e-9)
    assert oldest is None or oldest >= clock - timedelta(days=15)
    # the new custom field appeared in both CRMs (30 days at 25%/day)
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


def test_stamps_and_wire_formats_after_a_month(month: Advanced) -> None:
    ds, old = month.ds, month.old
    clock = ds.clock.replace(tzinfo=None)
    with ds.reading() as cur:
        for obj in ds.sf_objects():
            names = {f["name"] for f in ds.sf_describe[obj]["fields"]}
            if {"CreatedDate", "LastModifiedDate", "SystemModstamp"} <= names:
                bad = cur.execute(
                    f'SELECT count(*) FROM {ds.sf_table(obj)} WHERE NOT ("SystemModstamp" >= "LastModifiedDate"'
                    ' AND "LastModifiedDate" >= "CreatedDate") OR "SystemModstamp" >= ?',
                    [clock],
                ).fetchone()[0]
                assert bad == 0, obj
        for t in ds.hs_object_types():
            props = ds.hs_property_names(t)
            last = "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate"
            created = "createdate" if "createdate" in props else "hs_createdate"
            bad = cur.execute(
                f"SELECT count(*) FROM {ds.hs_table(t)} WHERE strftime(\"updatedAt\", '{WIRE}') <> {last} OR "
                f'strftime("createdAt", \'{WIRE}\') <> {created} OR "updatedAt" >= ? OR "updatedAt" < '
                '"createdAt" OR (archived <> ("archivedAt" IS NOT NULL)) OR "archivedAt" > "updatedAt"',
                [clock],
            ).fetchone()[0]
            assert bad == 0, t
            new = cur.execute(f'SELECT count(*) FROM {ds.hs_table(t)} WHERE "createdAt" > ?', [old]).fetchone()[0]
            if t in (*ENGAGEMENTS, "contacts", "deals", "line_items"):
                assert new > 0, t
        dup = cur.execute("SELECT count(*) - count(DISTINCT id) FROM hs.contacts").fetchone()[0]
        assert dup == 0


def test_hubspot_archives_and_restores_visible_through_stamps(month: Advanced) -> None:
    ds, old = month.ds, month.old
    archived_now, restored = 0, 0
    with ds.reading() as cur:
        for t in (*ENGAGEMENTS, "contacts", "deals", "line_items"):
            rows = cur.execute(f'SELECT id, archived, "archivedAt", "updatedAt" FROM {ds.hs_table(t)}').fetchall()
            before = month.archived_before[t]
            for rid, archived, at, updated in rows:
                if archived and rid not in before and rid in month.ids_before[f"hs.{t}"]:
                    assert at > old and updated >= at, (t, rid)  # archived while advancing
                    archived_now += 1
                if not archived and rid in before:
                    assert updated > old and at is None, (t, rid)  # restored: visible to updatedAt searches
                    restored += 1
    assert archived_now > 20 and restored > 5
    assert sum(month.summary[t].get("archive", 0) for t in ENGAGEMENTS) > 0
    assert month.summary["contacts"].get("restore", 0) > 0


def test_new_engagements_associated_both_ways(month: Advanced) -> None:
    ds, old = month.ds, month.old
    with ds.reading() as cur:
        for t in ENGAGEMENTS:
            t_co, co_t, t_ct, ct_t, t_deal, deal_t = _ENG_TYPE_IDS[t]
            new = {
                r[0] for r in cur.execute(f'SELECT id FROM {ds.hs_table(t)} WHERE "createdAt" > ?', [old]).fetchall()
            }
            assert new, t
            pairs = {
                (r[0], r[1], r[2], r[3])
                for r in cur.execute(
                    "SELECT from_type, from_id, to_id, type_id FROM hs.associations WHERE from_type = ? OR to_type = ?",
                    [t, t],
                ).fetchall()
            }
            for other, fwd, back in (("companies", t_co, co_t), ("contacts", t_ct, ct_t), ("deals", t_deal, deal_t)):
                out = {(f, to) for ft, f, to, tid in pairs if ft == other and tid == fwd and to in new}
                back_ = {(to, f) for ft, f, to, tid in pairs if ft == t and tid == back and f in new}
                assert out == back_, (t, other)
                if other == "companies":
                    assert {e for _, e in out} == new, t  # every new engagement has its company
                else:
                    assert out, (t, other)
        # the other end of every new association exists
        missing = cur.execute(
            "SELECT count(*) FROM hs.associations a WHERE a.from_type = 'calls' AND a.to_type = 'contacts' "
            "AND a.to_id NOT IN (SELECT id FROM hs.contacts)"
        ).fetchone()[0]
        assert missing == 0
        contacts = cur.execute(
            'SELECT count(*) FROM hs.contacts c WHERE c."createdAt" > ? AND c.associatedcompanyid IN '
            "(SELECT to_id FROM hs.associations a WHERE a.from_id = c.id AND a.type_id = 279) AND c.id IN "
            "(SELECT to_id FROM hs.associations a WHERE a.from_id = c.associatedcompanyid AND a.type_id = 280)",
            [old],
        ).fetchone()[0]
    assert contacts == month.summary["contacts"]["insert"] > 0


def test_hubspot_only_renewals_extend_arr(month: Advanced) -> None:
    ds = month.ds
    before, lines = month.lines_before, ds.ground_truth["contract_lines"]
    as_of = ds.clock.date()
    hs = before[before["source_system"] == "hubspot"]
    latest = hs.groupby("global_account_key")["service_start_date"].max()
    due = hs[(hs["service_end_date"] > AS_OF.isoformat()) & (hs["service_end_date"] < as_of.isoformat())]
    due = due[due["service_end_date"] >= due["global_account_key"].map(latest)]  # not renewed yet at AS_OF
    arr = ds.ground_truth["account_arr_monthly"].set_index(["global_account_key", "month"])["arr"]
    renewed = churned = 0
    with ds.reading() as cur:
        deals = {
            r[0]: r[1:]
            for r in cur.execute("SELECT id, dealstage, dealtype, pipeline, hs_is_closed_won FROM hs.deals").fetchall()
        }
    for (key, end), _grp in due.groupby(["global_account_key", "service_end_date"]):
        nxt = (date.fromisoformat(end) + timedelta(days=1)).isoformat()
        new = lines[(lines["global_account_key"] == key) & (lines["service_start_date"] == nxt)]
        month_key = (key, nxt[:8] + "01")
        if len(new):
            renewed += 1
            assert (new["source_system"] == "hubspot").all() and new["is_renewal"].all()
            assert new["close_date"].min() >= AS_OF.isoformat()  # closed while advancing
            for deal in set(new["source_deal_id"]):
                assert deals[deal] == ("closedwon", "renewal", "default", "true")  # the portal renewal option
            # the month the renewal starts carries at least the renewed ARR
            assert arr[month_key] >= round(12 * new["mrr_usd"].sum(), 2) - 0.01
        else:
            churned += 1
            running = lines[
                (lines["global_account_key"] == key)
                & (lines["service_start_date"] <= nxt)
                & (lines["service_end_date"] >= nxt)
            ]
            assert running.empty  # churned: nothing runs on, and the truth says so
            assert arr.get(month_key, 0.0) == 0.0 or nxt.endswith("-01")
    assert renewed >= 2
    assert month.summary["deals"].get("renewal", 0) >= renewed


def test_mirrored_deals_do_not_enter_contract_lines(month: Advanced) -> None:
    ds, old = month.ds, month.old
    lines = ds.ground_truth["contract_lines"]
    with ds.reading() as cur:
        mirrors = cur.execute(
            'SELECT d.id, d.hs_salesforceopportunityid, d.dealstage, o."IsWon" FROM hs.deals d JOIN '
            'sf."Opportunity" o ON o."Id" = d.hs_salesforceopportunityid WHERE d."updatedAt" > ? AND '
            'o."IsClosed" AND o."CloseDate" >= ?',
            [old, AS_OF],
        ).fetchall()
        mirror_lines = {
            r[0]
            for r in cur.execute(
                "SELECT a.to_id FROM hs.associations a JOIN hs.deals d ON d.id = a.from_id WHERE a.type_id = 19 AND "
                'd.hs_salesforceopportunityid IS NOT NULL AND d."updatedAt" > ?',
                [old],
            ).fetchall()
        }
    assert mirrors and mirror_lines
    assert all((stage == "closedwon") == won for _, _, stage, won in mirrors)
    assert not {m[0] for m in mirrors} & set(lines["source_deal_id"])
    assert not mirror_lines & set(lines["source_line_id"])
    acc = ds.ground_truth["accounts"]
    assert set(lines["source_system"]) <= {"salesforce", "hubspot"}
    sor = acc.set_index("global_account_key")["revenue_system"]
    assert (lines["source_system"].to_numpy() == sor.loc[lines["global_account_key"]].to_numpy()).all()


def test_fx_moves_into_the_new_month(month: Advanced) -> None:
    with month.ds.reading() as cur:
        rows = cur.execute(
            'SELECT "IsoCode", "StartDate", "NextStartDate", "CreatedDate" FROM sf."DatedConversionRate" '
            "WHERE \"StartDate\" >= DATE '2025-06-01' ORDER BY 1, 2"
        ).fetchall()
        gaps = cur.execute(
            'SELECT count(*) FROM sf."DatedConversionRate" a WHERE NOT EXISTS (SELECT 1 FROM sf."DatedConversionRate" '
            'b WHERE b."IsoCode" = a."IsoCode" AND b."StartDate" = a."NextStartDate") AND a."NextStartDate" <> '
            "DATE '9999-12-31'"
        ).fetchone()[0]
    by = defaultdict(list)
    for iso, start, nxt, created in rows:
        by[iso].append((start, nxt, created))
    assert set(by) == {"USD", "EUR", "GBP", "JPY"} and gaps == 0
    for iso, items in by.items():
        assert [(s, n) for s, n, _ in items] == [
            (date(2025, 6, 1), date(2025, 7, 1)),
            (date(2025, 7, 1), date(9999, 12, 31)),
        ], iso
        assert items[1][2] > month.old


def _eom(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def test_arr_recomputed_with_a_plain_loop_after_advancing(month: Advanced) -> None:
    assert_truth_matches_plain_loop(month.ds, month.ds.clock.date())


def test_archived_rows_older_than_90_days_are_purged() -> None:
    ds = generate("tiny", seed=12, as_of=AS_OF)
    clock = ds.clock.replace(tzinfo=None)
    with ds.reading() as cur:
        # age some archived rows past HubSpot's 90-day retention, keep others just inside it
        cur.execute(
            'UPDATE hs.emails SET "archivedAt" = ?::TIMESTAMP - INTERVAL 100 DAY, "updatedAt" = ?::TIMESTAMP - '
            f"INTERVAL 100 DAY, hs_lastmodifieddate = strftime(?::TIMESTAMP - INTERVAL 100 DAY, '{WIRE}') "
            "WHERE archived",
            [clock, clock, clock],
        )
        cur.execute(
            'UPDATE hs.calls SET archived = true, "archivedAt" = ?::TIMESTAMP - INTERVAL 80 DAY WHERE id IN '
            "(SELECT id FROM hs.calls WHERE NOT archived ORDER BY id LIMIT 3)",
            [clock],
        )
        old = {r[0] for r in cur.execute("SELECT id FROM hs.emails WHERE archived").fetchall()}
        kept = {r[0] for r in cur.execute("SELECT id FROM hs.calls WHERE archived").fetchall()}
        linked = cur.execute(
            "SELECT count(*) FROM hs.associations WHERE (from_type = 'emails' AND from_id IN (SELECT id FROM "
            "hs.emails WHERE archived)) OR (to_type = 'emails' AND to_id IN (SELECT id FROM hs.emails WHERE archived))"
        ).fetchone()[0]
    assert old and kept and linked
    summary = advance(ds, days=1)
    with ds.reading() as cur:
        emails = {r[0] for r in cur.execute("SELECT id FROM hs.emails").fetchall()}
        calls = {r[0] for r in cur.execute("SELECT id FROM hs.calls WHERE archived").fetchall()}
        assoc = {
            r[0]
            for r in cur.execute(
                "SELECT from_id FROM hs.associations WHERE from_type = 'emails' UNION ALL "
                "SELECT to_id FROM hs.associations WHERE to_type = 'emails'"
            ).fetchall()
        }
        stale = cur.execute(
            'SELECT count(*) FROM hs.emails WHERE archived AND "archivedAt" < ?::TIMESTAMP - INTERVAL 90 DAY',
            [ds.clock.replace(tzinfo=None)],
        ).fetchone()[0]
    assert not old & emails and not old & assoc and stale == 0
    assert kept <= calls | set()  # archived 80 days ago: still there (unless restored today)
    assert summary["emails"]["purge"] == len(old)
