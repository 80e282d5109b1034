"""Engagement and stakeholder marts vs the simulator's ground truth (`small`, seed 42, as of 2026-06-30).

* Buying roles per account (`roles_present`) and `engaged_contacts_90d` equal the truth's `account_stakeholders` for
  every account, exactly.
* Touch counts per account, source and channel equal a plain-Python count over the dataset's own records, in which
  the Salesforce Tasks the HubSpot integration mirrored (created by the integration user) do not count, so mirrored
  activities count once.
* Each person's latest touch per account equals the truth's `person_last_touch`.
* No mart value is an email, a phone number or a contact's name.

The helpers take a dataset and a DuckDB connection, so they also run against a hand-built warehouse.
"""

from __future__ import annotations

import re
from collections import Counter

import duckdb
import pandas as pd
import pytest

from connectors.simulator.dataset.store import Dataset
from connectors.warehouse.person_key import person_key
from tests.dbt.warehouse_fixtures import TEST_SECRET, BuiltWarehouse

ROLE_COLUMNS = {
    "Champion": "has_champion",
    "Economic Buyer": "has_economic_buyer",
    "Decision Maker": "has_decision_maker",
    "Influencer": "has_influencer",
    "Blocker": "has_blocker",
    "Technical Buyer": "has_technical_buyer",
    "User": "has_user",
    "Other": "has_other",
}
HS_ENGAGEMENTS = {"calls": "call", "emails": "email", "meetings": "meeting", "notes": "note", "tasks": "task"}


# ---- helpers (dataset + warehouse connection) -------------------------------------------------------------------


def source_to_global(dataset: Dataset) -> dict[tuple[str, str], str]:
    """(source_system, source record id) -> the truth's global_account_key, aliases included."""
    gt = dataset.ground_truth
    out: dict[tuple[str, str], str] = {}
    for row in gt["accounts"].itertuples(index=False):
        if row.salesforce_account_id:
            out[("salesforce", row.salesforce_account_id)] = row.global_account_key
        for company in filter(None, row.hubspot_company_ids.split(";")):
            out[("hubspot", company)] = row.global_account_key
    for row in gt["account_aliases"].itertuples(index=False):
        out[(row.source_system, row.source_id)] = row.global_account_key
    return out


def global_to_account_id(dataset: Dataset, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The truth's global_account_key -> the warehouse account_id (each must resolve to exactly one)."""
    identity = con.execute(
        "select source_system, source_account_id, account_id from intermediate.int_account_identity"
    ).fetchall()
    by_source = {(s, i): a for s, i, a in identity}
    found: dict[str, set[str]] = {}
    for source, global_key in source_to_global(dataset).items():
        if source in by_source:
            found.setdefault(global_key, set()).add(by_source[source])
    ambiguous = {k: v for k, v in found.items() if len(v) != 1}
    assert not ambiguous, f"global accounts resolving to several account_ids: {list(ambiguous.items())[:5]}"
    missing = set(dataset.ground_truth["accounts"]["global_account_key"]) - set(found)
    assert not missing, f"global accounts without an account_id: {sorted(missing)[:5]}"
    return {k: next(iter(v)) for k, v in found.items()}


def coverage_vs_truth(dataset: Dataset, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per truth account: truth roles/engaged next to the mart's, with a `match` flag."""
    to_account = global_to_account_id(dataset, con)
    cols = ", ".join(ROLE_COLUMNS.values())
    mart = con.execute(
        f"select account_id, contacts_engaged_90d, {cols} from marts.fct_account_stakeholder_coverage"
    ).df()
    mart["mart_roles"] = [
        ";".join(sorted(role for role, col in ROLE_COLUMNS.items() if row[col])) for _, row in mart.iterrows()
    ]
    truth = dataset.ground_truth["account_stakeholders"].copy()
    truth["account_id"] = truth["global_account_key"].map(to_account)
    merged = truth.merge(mart[["account_id", "mart_roles", "contacts_engaged_90d"]], on="account_id", how="left")
    merged["roles_match"] = merged["roles_present"] == merged["mart_roles"]
    merged["engaged_match"] = merged["engaged_contacts_90d"] == merged["contacts_engaged_90d"]
    return merged


def python_touch_counts(dataset: Dataset) -> Counter:
    """(global_account_key, source_system, channel) -> live touches, counted from the dataset's records alone.

    Salesforce Tasks created by the integration user (the org's first user, which created the other users) are the
    HubSpot integration's copies of HubSpot emails and
    calls: the HubSpot original is the touch (and a copy of an archived original is no touch either).
    """
    to_global = source_to_global(dataset)
    with dataset.reading() as cur:
        # the integration user is the org's first user, which also created the other users
        integration = {r[0] for r in cur.execute('select distinct "CreatedById" from sf."User"').fetchall()}
        opp_account = dict(cur.execute('select "Id", "AccountId" from sf."Opportunity"').fetchall())
        contact_account = dict(cur.execute('select "Id", "AccountId" from sf."Contact"').fetchall())
        tasks = cur.execute(
            'select "AccountId", "WhatId", "WhoId", "TaskSubtype", "CreatedById" from sf."Task" where not "IsDeleted"'
        ).fetchall()
        events = cur.execute('select "AccountId", "WhatId", "WhoId" from sf."Event" where not "IsDeleted"').fetchall()
        hs_company = dict(cur.execute("select id, associatedcompanyid from hs.contacts").fetchall())
        assoc = cur.execute(
            "select from_type, from_id, to_type, to_id from hs.associations "
            "where from_type in ('calls', 'emails', 'meetings', 'notes', 'tasks') "
            "and to_type in ('companies', 'contacts')"
        ).fetchall()
        engagements = {
            kind: [r[0] for r in cur.execute(f"select id from hs.{kind} where not archived").fetchall()]
            for kind in HS_ENGAGEMENTS
        }

    def sf_global(account_id, what_id, who_id):
        if account_id:
            return to_global.get(("salesforce", account_id))
        if what_id and what_id.startswith("006") and opp_account.get(what_id):
            return to_global.get(("salesforce", opp_account[what_id]))
        if what_id and what_id.startswith("001"):
            return to_global.get(("salesforce", what_id))
        if who_id and contact_account.get(who_id):
            return to_global.get(("salesforce", contact_account[who_id]))
        return None

    counts: Counter = Counter()
    for account_id, what_id, who_id, subtype, created_by in tasks:
        if created_by in integration:
            continue
        channel = {"Email": "email", "Call": "call"}.get(subtype, "task")
        counts[(sf_global(account_id, what_id, who_id), "salesforce", channel)] += 1
    for account_id, what_id, who_id in events:
        counts[(sf_global(account_id, what_id, who_id), "salesforce", "meeting")] += 1
    companies: dict[tuple[str, str], str] = {}
    contacts: dict[tuple[str, str], str] = {}
    for from_type, from_id, to_type, to_id in assoc:
        target = companies if to_type == "companies" else contacts
        key = (from_type, from_id)
        target[key] = min(target.get(key, to_id), to_id)
    for kind, ids in engagements.items():
        for eid in ids:
            company = companies.get((kind, eid))
            if company is None and (kind, eid) in contacts:
                company = hs_company.get(contacts[(kind, eid)])
            company = str(int(float(company))) if company else None
            counts[(to_global.get(("hubspot", company)) if company else None, "hubspot", HS_ENGAGEMENTS[kind])] += 1
    return counts


def warehouse_touch_counts(dataset: Dataset, con: duckdb.DuckDBPyConnection) -> Counter:
    to_account = global_to_account_id(dataset, con)
    to_global = {a: g for g, a in to_account.items()}
    rows = con.execute(
        "select account_id, source_system, channel, count(*) from intermediate.int_touches_unified group by all"
    ).fetchall()
    return Counter({(to_global.get(a), s, c): n for a, s, c, n in rows})


def last_touch_vs_truth(dataset: Dataset, con: duckdb.DuckDBPyConnection, secret: bytes) -> pd.DataFrame:
    """The truth's person_last_touch next to each (account, person)'s latest touch date in int_touches_unified.

    Compared by UTC date: an open Salesforce Task carries only its ActivityDate, not the time of day.
    """
    to_account = global_to_account_id(dataset, con)
    truth = dataset.ground_truth["person_last_touch"].copy()
    truth["account_id"] = truth["global_account_key"].map(to_account)
    truth["person_key"] = [person_key(e, secret) for e in truth["email"]]
    truth["last_touch_date"] = truth["last_touch"].str.slice(0, 10)
    ours = con.execute(
        "select account_id, person_key, strftime(max(occurred_date), '%Y-%m-%d') as our_last_touch_date "
        "from intermediate.int_touches_unified where person_key is not null and account_id is not null group by all"
    ).df()
    return truth.drop(columns=["email"]).merge(ours, on=["account_id", "person_key"], how="outer")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])\+\d[\d ()\-]{6,}\d(?!\w)")  # international form; ids and hashes never start with +
NAME_EXEMPT_COLUMNS = {"owner_name"}  # employees (Salesforce Users / HubSpot owners), not contacts


def personal_data_in_marts(dataset: Dataset, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every string value in the marts schema that looks like an email or an international phone number, equals a
    contact's phone, or holds a contact's full name (Salesforce Contact Name; HubSpot contacts share the person's
    name)."""
    with dataset.reading() as cur:
        names = {r[0].lower() for r in cur.execute('select distinct "Name" from sf."Contact"').fetchall() if r[0]}
        phones = {r[0] for r in cur.execute('select distinct "Phone" from sf."Contact"').fetchall() if r[0]}
    findings = []
    columns = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type = 'VARCHAR' order by 1, 2"
    ).fetchall()
    for table, column in columns:
        values = [
            r[0]
            for r in con.execute(
                f'select distinct "{column}" from marts."{table}" where "{column}" is not null'
            ).fetchall()
        ]
        for value in values:
            low = value.lower()
            if EMAIL.search(value) or PHONE.search(value) or value in phones:
                findings.append(f"{table}.{column}: {value!r}")
            elif column not in NAME_EXEMPT_COLUMNS and any(name in low for name in names if len(name) > 4):
                findings.append(f"{table}.{column}: {value!r} holds a contact name")
            if len(findings) > 20:
                return findings
    return findings


# ---- tests ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def con(built_small: BuiltWarehouse):
    with built_small.connect() as connection:
        yield connection


def test_roles_present_equal_truth_for_every_account(built_small: BuiltWarehouse, con) -> None:
    merged = coverage_vs_truth(built_small.dataset, con)
    bad = merged[~merged["roles_match"]]
    assert bad.empty, (
        f"{len(bad)} of {len(merged)} accounts differ:\n"
        + bad[["global_account_key", "roles_present", "mart_roles"]].head(10).to_string()
    )
    assert (merged["roles_present"] != "").sum() > 100  # the comparison is not vacuous


def test_engaged_contacts_90d_equal_truth_for_every_account(built_small: BuiltWarehouse, con) -> None:
    merged = coverage_vs_truth(built_small.dataset, con)
    bad = merged[~merged["engaged_match"]]
    assert bad.empty, (
        f"{len(bad)} of {len(merged)} accounts differ:\n"
        + bad[["global_account_key", "engaged_contacts_90d", "contacts_engaged_90d"]].head(10).to_string()
    )
    assert merged["engaged_contacts_90d"].sum() > 100


def test_latest_touch_per_person_equals_truth(built_small: BuiltWarehouse, con) -> None:
    merged = last_touch_vs_truth(built_small.dataset, con, TEST_SECRET.encode())
    bad = merged[merged["last_touch_date"] != merged["our_last_touch_date"]]
    assert bad.empty, f"{len(bad)} of {len(merged)} (account, person) pairs differ:\n{bad.head(10).to_string()}"


def test_touch_counts_equal_plain_count_with_mirrors_once(built_small: BuiltWarehouse, con) -> None:
    expected = python_touch_counts(built_small.dataset)
    actual = warehouse_touch_counts(built_small.dataset, con)
    diff = {
        k: (expected.get(k, 0), actual.get(k, 0))
        for k in expected.keys() | actual.keys()
        if expected.get(k, 0) != actual.get(k, 0)
    }
    assert not diff, (
        f"{len(diff)} (account, source, channel) counts differ (expected, actual): {list(diff.items())[:10]}"
    )
    with built_small.dataset.reading() as cur:
        mirrors = cur.execute(
            'select count(*) from sf."Task" where "CreatedById" in (select "CreatedById" from sf."User")'
        ).fetchone()[0]
    assert mirrors > 50  # there were mirrored tasks to de-duplicate
    in_sf = con.execute("select count(*) from staging.stg_salesforce__tasks where not is_deleted").fetchone()[0]
    kept = con.execute(
        "select count(*) from intermediate.int_touches_unified where touch_id like 'salesforce:Task:%'"
    ).fetchone()[0]
    assert in_sf - kept == mirrors


def test_engagement_monthly_adds_up_to_touches(built_small: BuiltWarehouse, con) -> None:
    as_of = built_small.as_of
    mart = con.execute(
        "select sum(total_touches), sum(email_touches + call_touches + meeting_touches + task_touches + note_touches),"
        " sum(salesforce_touches + hubspot_touches) from marts.fct_account_engagement_monthly"
    ).fetchone()
    touches = con.execute(
        "select count(*) from intermediate.int_touches_unified where account_id is not null and occurred_date < ?",
        [as_of],
    ).fetchone()[0]
    assert mart == (touches, touches, touches)
    # the as-of month's row of every account with a touch in the last 90 days has a positive score
    recent = con.execute(
        "select count(*) from marts.fct_account_engagement_monthly where is_month_to_date and engagement_score = 0 "
        "and days_since_last_touch < 90"
    ).fetchone()[0]
    assert recent == 0


def test_no_personal_data_in_marts(built_small: BuiltWarehouse, con) -> None:
    findings = personal_data_in_marts(built_small.dataset, con)
    assert not findings, "\n".join(findings)


def test_opportunities_count_each_once(built_small: BuiltWarehouse, con) -> None:
    """Every live SF opportunity and every live HubSpot deal that is not a Salesforce mirror, once."""
    with built_small.dataset.reading() as cur:
        sf = cur.execute('select count(*) from sf."Opportunity" where not "IsDeleted"').fetchone()[0]
        hs = cur.execute(
            "select count(*) from hs.deals where not archived and hs_salesforceopportunityid is null"
        ).fetchone()[0]
    counts = dict(con.execute("select source, count(*) from marts.fct_opportunities group by 1").fetchall())
    assert counts == {"salesforce": sf, "hubspot": hs}
