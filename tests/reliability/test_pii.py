"""PII minimisation (reliability_practices.md §5): no mart of any kept serving version, DuckDB or Parquet, holds an
email address, a phone number or a contact's name. The names, emails and phones come from the simulator's own
data (both CRMs), so the check does not depend on a guess of what the marts contain."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from connectors.warehouse.serving import VersionInfo, list_versions  # noqa: F401
from tests.reliability.sec_demo import DemoRun, shared_demo, uses_demo

EMAIL = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+"
# international (+1 555 0100, +44-20-7946-0958) or North American ((555) 010-0100) forms; ids and dates do not match
PHONE = r"(^|[^\w])(\+\d{1,3}[ .-]\(?\d{1,4}\)?([ .-]\d{2,4}){1,3}|\(\d{3}\) ?\d{3}-\d{4})($|[^\w])"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return shared_demo(tmp_path_factory)


def crm_people(dataset: Path) -> tuple[set[str], set[str], set[str]]:
    """(emails, phones, full names) of every Salesforce contact/lead and HubSpot contact in the dataset."""
    emails, phones, names = set(), set(), set()
    for obj in ("Contact", "Lead"):
        path = dataset / "salesforce" / f"{obj}.jsonl"
        for row in (json.loads(x) for x in (path.read_text().splitlines() if path.exists() else []) if x):
            emails.add((row.get("Email") or "").lower())
            phones.update(p for p in (row.get("Phone"), row.get("MobilePhone")) if p)
            names.add(f"{row.get('FirstName') or ''} {row.get('LastName') or ''}".strip().lower())
    for row in (json.loads(x) for x in (dataset / "hubspot" / "contacts.jsonl").read_text().splitlines() if x):
        props = row["properties"]
        emails.add((props.get("email") or "").lower())
        phones.update(p for p in (props.get("phone"), props.get("mobilephone")) if p)
        names.add(f"{props.get('firstname') or ''} {props.get('lastname') or ''}".strip().lower())
    # Account owners are CRM users (employees) shown by design; a contact who shares a user's name (the generator
    # draws both from one name list) is not a contact name leaking through owner_name.
    users = set()
    for row in (json.loads(x) for x in (dataset / "salesforce" / "User.jsonl").read_text().splitlines() if x):
        users.add((row.get("Name") or "").lower())
    for row in (json.loads(x) for x in (dataset / "hubspot" / "owners.jsonl").read_text().splitlines() if x):
        users.add(f"{row.get('firstName') or ''} {row.get('lastName') or ''}".strip().lower())
    return emails - {""}, phones, {n for n in names if " " in n} - users


def relations(con: duckdb.DuckDBPyConnection, info) -> list[tuple[str, str]]:
    con.execute(f"attach '{info.db_path}' as v_{info.seq} (read_only)")
    out = [(f"v_{info.seq}.main.\"{t}\"", f"{info.version}/{t}") for (t,) in con.execute(
        "select table_name from duckdb_tables() where database_name = ?", [f"v_{info.seq}"]).fetchall()]
    out += [(f"read_parquet('{p}')", f"{info.version}/parquet/{p.name}")
            for p in sorted(info.parquet_dir.glob("*.parquet"))]
    return out


@uses_demo
def test_no_email_phone_or_name_in_any_mart(demo: DemoRun) -> None:
    emails, phones, names = crm_people(demo.dataset)
    assert len(emails) > 100 and len(names) > 100 and phones  # the reference lists are real
    versions = list_versions(demo.home)
    assert versions
    findings, scanned = [], 0
    with duckdb.connect() as con:
        con.execute("create temp table pii(v varchar)")
        con.executemany("insert into pii values (?)", [[v] for v in emails | phones | names])
        for info in versions:
            for relation, label in relations(con, info):
                for col, dtype, *_ in con.execute(f"describe select * from {relation}").fetchall():
                    scanned += 1
                    text = f"cast(\"{col}\" as varchar)"
                    hits = con.execute(
                        f"select count(*) filter (where regexp_matches({text}, ?)), "
                        f"count(*) filter (where regexp_matches({text}, ?)), "
                        f"count(*) filter (where lower({text}) in (select v from pii)) from {relation}",
                        [EMAIL, PHONE]).fetchone()
                    if any(hits):
                        findings.append(f"{label}.{col} ({dtype}): emails {hits[0]}, phone-like {hits[1]}, "
                                        f"CRM values {hits[2]}")
    assert scanned > 100
    assert findings == []


@uses_demo
def test_the_pii_scan_finds_a_planted_value(tmp_path: Path, demo: DemoRun) -> None:
    """The scan above is not vacuous: the same predicates find a contact's email in a mart-shaped table."""
    emails, _, _ = crm_people(demo.dataset)
    some = sorted(emails)[0]
    with duckdb.connect() as con:
        con.execute("create table m as select 'A1' as account_id, ? as champion", [some.upper()])
        assert con.execute("select count(*) from m where regexp_matches(champion, ?)", [EMAIL]).fetchone()[0] == 1
    assert all(re.search(PHONE, p) for p in ("+1 555 0000", "+44-20-7946-0958", "(555) 010-0100"))
    assert not any(re.search(PHONE, v) for v in ("18000000001", "2025-06-30", "001Dn0000000001IAA", "12.5"))
