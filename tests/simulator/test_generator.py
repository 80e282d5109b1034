"""Rendered CRM records: determinism, stamps, ids, dirt and cross-CRM links."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.simulator.dataset.firmographics import normalise_domain
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.ids import is_valid_18, sf_ids, to_15, to_18
from connectors.simulator.dataset.schema_salesforce import SF_OBJECTS, standard_describe
from connectors.simulator.dataset.store import Dataset

AS_OF = date(2025, 6, 15)


@pytest.fixture(scope="module")
def small() -> Dataset:
    return generate("small", seed=7, as_of=AS_OF)


def _dump(ds: Dataset) -> dict[str, list[tuple]]:
    out = {}
    with ds.reading() as cur:
        for obj in ds.sf_objects():
            out[f"sf.{obj}"] = cur.execute(f'SELECT * FROM {ds.sf_table(obj)} ORDER BY "Id"').fetchall()
        for t in ds.hs_object_types():
            out[f"hs.{t}"] = cur.execute(f"SELECT * FROM {ds.hs_table(t)} ORDER BY id").fetchall()
        out["assoc"] = cur.execute("SELECT * FROM hs.associations ORDER BY ALL").fetchall()
    return out


def test_known_id_pair_and_vectorised_checksums() -> None:
    assert to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert to_15("001A0000006Vm9rIAC") == "001A0000006Vm9r"
    assert all(is_valid_18(i) for i in sf_ids("Opportunity", [1, 61, 62, 3843, 10**9]))


def test_deterministic_and_seed_sensitive() -> None:
    a = generate("tiny", seed=3, as_of=AS_OF)
    b = generate("tiny", seed=3, as_of=AS_OF)
    c = generate("tiny", seed=4, as_of=AS_OF)
    assert _dump(a) == _dump(b)
    for name, df in a.ground_truth.items():
        assert df.equals(b.ground_truth[name]), name
    assert _dump(a)["sf.Opportunity"] != _dump(c)["sf.Opportunity"]
    assert a.meta == {"seed": 3, "scale": "tiny", "as_of": "2025-06-15", "generator": "account-warehouse-simulator/1"}


def test_clock_and_every_timestamp_before_it(small: Dataset) -> None:
    assert small.clock == datetime(2025, 6, 15, tzinfo=UTC)
    clock = small.clock.replace(tzinfo=None)
    with small.reading() as cur:
        for obj in small.sf_objects():
            for f in small.sf_describe[obj]["fields"]:
                if f["type"] == "datetime":
                    mx = cur.execute(f'SELECT max("{f["name"]}") FROM {small.sf_table(obj)}').fetchone()[0]
                    assert mx is None or mx < clock, (obj, f["name"], mx)
        for t in small.hs_object_types():
            for col in ("createdAt", "updatedAt", "archivedAt"):
                mx = cur.execute(f'SELECT max("{col}") FROM {small.hs_table(t)}').fetchone()[0]
                assert mx is None or mx < clock, (t, col)
        first = cur.execute('SELECT min("CreatedDate") FROM sf."Account"').fetchone()[0]
    assert first <= clock - timedelta(days=4 * 365)


def test_audit_stamp_order_and_hubspot_mirrors(small: Dataset) -> None:
    with small.reading() as cur:
        for obj in small.sf_objects():
            names = {f["name"] for f in small.sf_describe[obj]["fields"]}
            if {"CreatedDate", "LastModifiedDate", "SystemModstamp"} <= names:
                bad = cur.execute(
                    f'SELECT count(*) FROM {small.sf_table(obj)} WHERE NOT ("SystemModstamp" >= "LastModifiedDate"'
                    ' AND "LastModifiedDate" >= "CreatedDate")'
                ).fetchone()[0]
                assert bad == 0, obj
        for t in small.hs_object_types():
            props = small.hs_property_names(t)
            last = "lastmodifieddate" if t == "contacts" else "hs_lastmodifieddate"
            created = "createdate" if "createdate" in props else "hs_createdate"
            bad = cur.execute(
                f"SELECT count(*) FROM {small.hs_table(t)} WHERE strftime(\"updatedAt\", '%Y-%m-%dT%H:%M:%S.%gZ')"
                f" <> {last} OR strftime(\"createdAt\", '%Y-%m-%dT%H:%M:%S.%gZ') <> {created}"
            ).fetchone()[0]
            assert bad == 0, t


def test_ids_are_18_char_case_safe(small: Dataset) -> None:
    for obj in ("Account", "Contact", "Opportunity", "OpportunityLineItem", "Task", "User"):
        ids = [r["Id"] for r in small.sf_records(obj)]
        assert ids and all(is_valid_18(i) for i in ids), obj
    prefixes = {
        "Account": "001",
        "Contact": "003",
        "User": "005",
        "Opportunity": "006",
        "Task": "00T",
        "Event": "00U",
        "OpportunityLineItem": "00k",
        "OpportunityContactRole": "00K",
    }
    with small.reading() as cur:
        for obj, prefix in prefixes.items():
            bad = cur.execute(f'SELECT count(*) FROM {small.sf_table(obj)} WHERE "Id"[1:3] <> ?', [prefix])
            assert bad.fetchone()[0] == 0, obj


def test_soft_deletes_only_inside_recycle_bin(small: Dataset) -> None:
    clock = small.clock.replace(tzinfo=None)
    seen = 0
    with small.reading() as cur:
        for obj in small.sf_objects():
            if "IsDeleted" not in {f["name"] for f in small.sf_describe[obj]["fields"]}:
                assert obj in ("User", "CurrencyType", "DatedConversionRate")
                continue
            n, oldest = cur.execute(
                f'SELECT count(*), min("SystemModstamp") FROM {small.sf_table(obj)} WHERE "IsDeleted"'
            ).fetchone()
            seen += n
            if n:
                assert oldest >= clock - timedelta(days=15), obj
        merged = cur.execute('SELECT count(*) FROM sf."Account" WHERE "IsDeleted" AND "MasterRecordId" IS NOT NULL')
        assert merged.fetchone()[0] > 0
        archived = cur.execute('SELECT count(*) FROM hs."emails" WHERE archived AND "archivedAt" IS NOT NULL')
        assert archived.fetchone()[0] > 0
    assert seen > 0


def test_shared_accounts_linked_both_ways(small: Dataset) -> None:
    gt = small.ground_truth["accounts"]
    with small.reading() as cur:
        sf = dict(cur.execute('SELECT "Id", "Website" FROM sf."Account" WHERE NOT "IsDeleted"').fetchall())
        hs = {r[0]: r[1:] for r in cur.execute("SELECT id, salesforceaccountid, domain FROM hs.companies").fetchall()}
    shared = gt[gt["link"].isin(["salesforceaccountid", "domain"])]
    assert len(shared) > 50
    for row in shared.itertuples():
        company = row.hubspot_company_ids.split(";")[0]
        prop, domain = hs[company]
        if row.link == "salesforceaccountid":
            assert prop == row.salesforce_account_id
        else:
            assert prop is None
            assert normalise_domain(domain) == normalise_domain(sf[row.salesforce_account_id]) == row.domain
    share = gt["link"].value_counts(normalize=True)
    assert 0.45 < share["salesforce_only"] < 0.65 and 0.12 < share["hubspot_only"] < 0.28


def test_realism_dirt_present(small: Dataset) -> None:
    with small.reading() as cur:
        q = lambda sql: cur.execute(sql).fetchone()[0]  # noqa: E731
        assert q('SELECT max(c) FROM (SELECT count(*) c FROM sf."Contact" GROUP BY "SystemModstamp")') >= 100
        assert q('SELECT count(*) FROM sf."Opportunity" WHERE "IsWon" AND NOT "HasOpportunityLineItem"') > 0
        assert q('SELECT count(*) FROM sf."Opportunity" WHERE "Amount" IS NULL') > 0
        assert q('SELECT count(*) FROM sf."Contact" WHERE "AccountId" IS NULL') > 0
        assert q('SELECT count(*) FROM (SELECT lower("Email") e FROM sf."Contact" GROUP BY 1 HAVING count(*) > 1)') > 0
        assert q('SELECT count(*) FROM sf."Task" WHERE "AccountId" IS NULL AND "WhoId" IS NOT NULL') > 0
        assert q("SELECT count(*) FROM hs.deals WHERE hs_salesforceopportunityid IS NOT NULL") > 0
        assert (
            q(
                "SELECT count(*) FROM hs.line_items l JOIN hs.associations a ON a.from_id = l.id AND a.type_id = 20"
                " JOIN hs.deals d ON d.id = a.to_id WHERE d.hs_salesforceopportunityid IS NOT NULL"
            )
            > 0
        )
        assert q("SELECT count(*) FROM hs.associations WHERE category = 'USER_DEFINED'") > 0
        assert q("SELECT count(*) FROM hs.contacts WHERE hs_buying_role LIKE '%;%'") > 0
        assert q("SELECT count(DISTINCT domain) < count(*) FROM hs.companies WHERE NOT archived")
        types = {r[0] for r in cur.execute('SELECT DISTINCT "Type" FROM sf."Opportunity"').fetchall()}
        assert {"New Business", "Renewal", "Upsell", "Cross-sell"} <= types
        freqs = {r[0] for r in cur.execute("SELECT DISTINCT recurringbillingfrequency FROM hs.line_items").fetchall()}
        assert {"annually", "monthly", "quarterly"} <= freqs
        amount = cur.execute("SELECT amount FROM hs.deals WHERE amount IS NOT NULL LIMIT 1").fetchone()[0]
        assert amount.count(".") == 1 and len(amount.split(".")[1]) == 2
        # mirrored engagements: same subject and time in both CRMs
        assert (
            q(
                'SELECT count(*) FROM sf."Task" t JOIN hs.emails e ON e.hs_email_subject = '
                'substr(t."Subject", 8) AND strftime(t."CreatedDate", \'%Y-%m-%dT%H:%M:%S.%gZ\') = e.hs_timestamp '
                "WHERE t.\"Subject\" LIKE 'Email: %'"
            )
            > 0
        )


def test_describes_and_catalogs(small: Dataset) -> None:
    assert set(SF_OBJECTS) <= set(small.sf_describe)
    acct = {f["name"]: f for f in small.sf_describe["Account"]["fields"]}
    assert acct["BillingAddress"]["type"] == "address" and acct["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert acct["Health_Score__c"]["calculated"] and acct["Health_Score__c"]["custom"]
    assert "IsDeleted" not in {f["name"] for f in small.sf_describe["User"]["fields"]}
    extra = standard_describe("Account", ["Region__c"])
    assert extra["fields"][-1]["name"] == "Region__c" and extra["fields"][-1]["type"] == "string"
    stages = small.hs_pipelines["deals"][0]["stages"]
    assert all(isinstance(v, str) for s in stages for v in s["metadata"].values())
    owners = {o["email"] for o in small.hs_owners}
    users = {r["Email"] for r in small.sf_records("User")}
    assert owners == users


@pytest.mark.slow
def test_large_counts_and_budget() -> None:
    t0 = time.perf_counter()
    ds = generate("large", seed=42, as_of=AS_OF)
    elapsed = time.perf_counter() - t0
    assert elapsed < 120
    contacts = ds.count(ds.sf_table("Contact")) + ds.count(ds.hs_table("contacts"))
    opps = ds.count(ds.sf_table("Opportunity")) + ds.count(ds.hs_table("deals"))
    lines = ds.count(ds.sf_table("OpportunityLineItem")) + ds.count(ds.hs_table("line_items"))
    acts = sum(ds.count(ds.sf_table(o)) for o in ("Task", "Event")) + sum(
        ds.count(ds.hs_table(t)) for t in ("calls", "emails", "meetings", "notes", "tasks")
    )
    assert len(ds.ground_truth["accounts"]) == 50_000
    assert 250_000 < contacts < 380_000
    assert 200_000 < opps < 380_000
    assert 400_000 < lines < 650_000
    assert 1_700_000 < acts < 2_400_000
