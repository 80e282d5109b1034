"""Matrix row 31: an erasure request for contact X removes X from raw, models and every kept serving version, bytes
included, records it without the address, and the next ingest does not bring X back from the CRM.

The end-to-end case erases a real contact of the simulator's data after the shared demo run (sec_demo.py), greps
every file under the warehouse home, then runs a full-refresh ingest against the same CRM data. A synthetic case
plants the person in two published versions (DuckDB + Parquet), which the demo's marts never hold.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.simulator.dataset.folder import load
from connectors.simulator.land import fast_settings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.erase import erase_person
from connectors.warehouse.person_key import person_key
from connectors.warehouse.serving import list_versions, publish
from tests.reliability.ledger import fault_case
from tests.reliability.sec_demo import (
    SECRETS,
    DemoRun,
    Person,
    byte_hits,
    checkpoint_all,
    copy_home,
    demo_env,
    demo_on,
    files_under,
    people,
    run_cli,
    shared_demo,
    unique_person,
    uses_demo,
)

SECRET = SECRETS["ACCTWH_PERSON_KEY_SECRET"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return shared_demo(tmp_path_factory)


def logical_hits(home: Path, needles: list[str]) -> list[str]:
    """Every table/column of every DuckDB and Parquet file under ``home`` whose text holds a needle."""
    found = []
    with duckdb.connect() as con:
        for i, path in enumerate(p for p in files_under(home) if p.suffix in (".duckdb", ".parquet")):
            if path.suffix == ".duckdb":
                con.execute(f"ATTACH '{path}' AS db{i} (READ_ONLY)")
                sources = [(f"db{i}.{quote(s)}.{quote(t)}", f"{path.name}:{s}.{t}") for s, t in con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = ?", [f"db{i}"]
                ).fetchall()]
            else:
                sources = [(f"read_parquet('{path}')", path.name)]
            for relation, label in sources:
                cols = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
                for col in cols:
                    text = f"lower(cast({quote(col)} as varchar))"
                    n = con.execute(f"select count(*) from {relation} where "
                                    + " or ".join(f"contains({text}, ?)" for _ in needles),
                                    [n.lower() for n in needles]).fetchone()[0]
                    if n:
                        found.append(f"{label}.{col}: {n}")
    return found


def grep(home: Path, pattern: re.Pattern[bytes]) -> list[str]:
    return [str(p.relative_to(home)) for p in files_under(home) if pattern.search(p.read_bytes().lower())]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def needles_of(person: Person) -> list[str]:
    return [n.decode() for n in person.needles]


@uses_demo
def test_erase_a_contact_everywhere_and_keep_it_out_of_the_next_ingest(demo: DemoRun, tmp_path: Path) -> None:
    home = copy_home(demo, tmp_path / "home")
    person = unique_person(demo.dataset, home)
    with fault_case(31, "erasure request for a contact in both CRMs, then a full-refresh ingest") as case:
        before = byte_hits(home, person.needles)
        # the grep can see the person before: otherwise an empty result below would prove nothing
        assert person.email.lower() in before.get("working.duckdb", []), before

        messy = f"  {person.email.upper()} "  # case and whitespace do not matter, as for the person key
        result = run_cli("erase", "--email", messy, "--home", str(home), env=demo_env(home / ".dagster"))
        assert result.returncode == 0, result.stderr
        output = (result.stdout + result.stderr).lower()
        assert person.email.lower() not in output  # the address is never echoed
        assert "raw_salesforce.contact" in result.stdout

        checkpoint_all(home)
        assert byte_hits(home, person.needles) == {}
        assert logical_hits(home, needles_of(person)) == []

        key = person_key(person.email, SECRET.encode())
        with duckdb.connect(str(home / "working.duckdb"), read_only=True) as con:
            audit = con.execute("select person_key, erased_at, rows_deleted from _meta.erasures").fetchall()
            suppressed = con.execute("select distinct person_key from _meta.erased_people").fetchall()
            contacts_before = con.execute("select count(*) from raw_salesforce.contact").fetchone()[0]
        assert [(a[0]) for a in audit] == [key] and suppressed == [(key,)]
        rows = json.loads(audit[0][2])
        assert rows["raw_salesforce.contact"] == 1 and rows["raw_hubspot.contacts"] >= 1
        assert rows.get("intermediate.int_person_identity", 0) >= 1

        # the CRM still holds the person: a full re-read must not land them again
        with CrmSimulator(load(demo.dataset), settings=fast_settings()) as sim:
            env = {**demo_env(home / ".dagster"), "SALESFORCE_URL": sim.salesforce_url,
                   "HUBSPOT_URL": sim.hubspot_url}
            again = run_cli("ingest", "--full-refresh", "--home", str(home), env=env)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        checkpoint_all(home)
        with duckdb.connect(str(home / "working.duckdb"), read_only=True) as con:
            contacts_after = con.execute("select count(*) from raw_salesforce.contact").fetchone()[0]
            back = con.execute('select count(*) from raw_salesforce.contact where "Id" = ?', [person.sf_id]).fetchone()
            hs_back = con.execute("select count(*) from raw_hubspot.contacts where lower(email) = ?",
                                  [person.email.lower()]).fetchone()
        assert contacts_after == contacts_before > 0  # the others were re-read, X was kept out
        assert back == (0,) and hs_back == (0,)
        assert byte_hits(home, person.needles) == {}
        case.rows_compared = sum(1 for _ in files_under(home))
        case.rows_lost = 0


def test_erase_rewrites_every_kept_serving_version_holding_the_person(tmp_path: Path) -> None:
    """Two published versions whose mart carries the address and the key: both rewritten, others' rows kept."""
    secret = SECRET.encode()
    target, neighbour = "ann.lee@acme.example", "joann.lee@acme.example"  # a longer address containing the target
    home = tmp_path / "home"
    home.mkdir()
    working = home / "working.duckdb"
    with duckdb.connect(str(working)) as con:
        con.execute("create schema raw_salesforce; create schema marts")
        con.execute('create table raw_salesforce.contact ("Id" varchar primary key, "Email" varchar, "Name" varchar)')
        con.execute("insert into raw_salesforce.contact values ('003A', 'Ann.Lee@acme.example', 'Ann Zyxwv'), "
                    "('003B', ?, 'Jo Ann Lee')", [neighbour])
        con.execute("create table marts.people (account_id varchar, person_key varchar, note varchar, arr double)")
        con.execute("insert into marts.people values ('A1', ?, 'met ' || ?, 10), ('A1', ?, 'ok', 20), "
                    "('A2', ?, 'cc ' || ?, 30)",
                    [person_key(target, secret), target, person_key(neighbour, secret), "x", neighbour])
    for _ in range(2):
        publish(working, home, ["people"])
    # not preceded by an address character: the neighbour's address contains the target's bytes
    target_bytes = re.compile(rb"(?<![a-z0-9._%+'-])" + re.escape(target.encode()))
    planted = grep(home, target_bytes)
    assert sum(p.endswith(("marts.duckdb", "people.parquet")) for p in planted) == 5, planted  # the grep sees it
    with fault_case(31, "erasure across two kept serving versions (DuckDB + Parquet)") as case:
        result = erase_person(home, target, secret=secret)
        assert set(result.serving_rows_deleted) == {v.version for v in list_versions(home)}
        assert all(n > 0 for n in result.serving_rows_deleted.values()), result.serving_rows_deleted
        checkpoint_all(home)
        assert grep(home, target_bytes) == []
        assert byte_hits(home, [b"ann zyxwv", person_key(target, secret).encode()]) \
            == {"working.duckdb": [person_key(target, secret)]}  # only in the audit/suppression records
        versions = list_versions(home)
        assert versions[0].serving and versions[0].parquet  # BI still reads the newest version
        for info in versions:
            with duckdb.connect() as con:
                con.execute(f"attach '{info.db_path}' as v (read_only)")
                kept = con.execute("select account_id, arr from v.people order by arr").fetchall()
                counts = dict(con.execute("select row_counts from v._publication").fetchone()[0])
                pq = con.execute(f"select count(*) from read_parquet('{info.parquet_dir / 'people.parquet'}')"
                                 ).fetchone()[0]
            assert kept == [("A1", 20.0), ("A2", 30.0)]  # the neighbour's rows survive
            assert counts == {"people": 2} == info.row_counts and pq == 2
            assert oct(os.stat(info.db_path).st_mode & 0o777) == "0o444"
        with duckdb.connect(str(home / "serving" / "marts.duckdb"), read_only=True) as con:
            assert con.execute("select count(*) from people").fetchone()[0] == 2
        with duckdb.connect(str(working), read_only=True) as con:
            assert con.execute('select "Id" from raw_salesforce.contact').fetchall() == [("003B",)]
        case.rows_compared = 3 * len(versions)


@pytest.mark.reliability
@uses_demo
def test_erased_contact_stays_out_after_the_next_nightly_run(demo: DemoRun, tmp_path: Path) -> None:
    """The person is edited in the CRM after the erasure, so the incremental night re-reads them: still absent. A
    second contact edited at the same moment proves the night did read that change."""
    home = copy_home(demo, tmp_path / "home")
    person = unique_person(demo.dataset, home)
    with duckdb.connect(str(home / "working.duckdb"), read_only=True) as con:
        in_hubspot = {e for (e,) in con.execute("select lower(email) from raw_hubspot.contacts").fetchall()}
    control = next(p for p in people(demo.dataset)  # another contact of both CRMs
                   if p.email.lower() != person.email.lower() and p.email.lower() in in_hubspot)
    edited = datetime.combine(demo.as_of, time(1), UTC)  # after the last night's cursor, before the next night
    with fault_case(31, "erasure, then the contact changes in the CRM and the nightly job runs") as case:
        erased = run_cli("erase", "--email", person.email, "--home", str(home), env=demo_env(home / ".dagster"))
        assert erased.returncode == 0, erased.stderr
        dataset = tmp_path / "crm"
        _touch(demo.dataset, dataset, [person, control], edited)
        night = demo_on(dataset, home, as_of=demo.as_of + timedelta(days=1))
        assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
        assert person.email.lower() not in (night.stdout + night.stderr).lower()
        assert len(list_versions(home)) == demo.days + 2
        with duckdb.connect(str(home / "working.duckdb"), read_only=True) as con:
            sf_stamp = con.execute('select "SystemModstamp" from raw_salesforce.contact where "Id" = ?',
                                   [control.sf_id]).fetchone()
            hs_stamp = con.execute('select updated_at from raw_hubspot.contacts where lower(email) = ?',
                                   [control.email.lower()]).fetchall()
        assert _utc(sf_stamp[0]) == edited, sf_stamp  # the night did re-read the edited contacts
        assert hs_stamp and all(_utc(s) == edited for (s,) in hs_stamp), hs_stamp
        checkpoint_all(home)
        assert byte_hits(home, person.needles) == {}
        assert logical_hits(home, needles_of(person)) == []
        case.rows_compared = sum(1 for _ in files_under(home))


def _utc(value: datetime | str) -> datetime:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _touch(src: Path, dest: Path, who: list[Person], when: datetime) -> None:
    """A copy of the CRM data where these people's Salesforce and HubSpot records were modified at ``when``."""
    shutil.copytree(src, dest)
    stamp_sf = when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    stamp_hs = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sf_ids, emails = {p.sf_id for p in who}, {p.email.lower() for p in who}
    for path, touched in ((dest / "salesforce" / "Contact.jsonl", lambda r: r["Id"] in sf_ids),
                          (dest / "hubspot" / "contacts.jsonl",
                           lambda r: (r["properties"].get("email") or "").lower() in emails)):
        lines = []
        for line in path.read_text().splitlines():
            if line:
                row = json.loads(line)
                if touched(row):
                    if "properties" in row:
                        row["updatedAt"] = row["properties"]["lastmodifieddate"] = stamp_hs
                    else:
                        row["LastModifiedDate"] = row["SystemModstamp"] = stamp_sf
                    line = json.dumps(row)
            lines.append(line)
        path.write_text("\n".join(lines) + "\n")
