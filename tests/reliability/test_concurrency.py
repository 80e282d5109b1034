"""Overlapping runs and a lost working directory (fault matrix rows 28 and 29).

28: one writer of the working file at a time. Dagster's run queue (dagster.yaml ``tag_concurrency_limits``) holds a
second writer run (manual + schedule) until the first ends; the ``duckdb`` pool alone would only serialize steps,
letting another run's dbt build slip between this run's checks and its publish. Outside Dagster (``acctwh ingest``
during the nightly), DuckDB's file lock makes the second writer fail at once, without touching state.

29: the Dagster home and everything but ``working.duckdb`` lost: the next ingestion resumes from the cursors in
``_meta.stream_state`` (committed with the data), landing only what changed, not a full reload, and not a window
derived from the runner's clock. (The kill harness runs every night with a fresh, empty Dagster instance too.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest
from dagster._utils.tags import TagConcurrencyLimitsCounter

from connectors.simulator.dataset.advance import advance
from connectors.simulator.dataset.generate import generate
from connectors.simulator.land import fast_settings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse
from tests.reliability.ledger import fault_case
from tests.reliability.warehouse_compare import ingest_into, raw_diff

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 30)
WRITER_JOBS = ("nightly_refresh_job", "crm_ingest_job", "account_marts_job")
STATE_SQL = "SELECT source, stream, cursor, cursor_id, status, last_full_sync_at FROM _meta.stream_state ORDER BY ALL"

SECOND_WRITER = textwrap.dedent("""
    import sys, time
    from tests.reliability.warehouse_compare import ingest_into
    started = time.monotonic()
    try:
        ingest_into(sys.argv[1], sys.argv[2], sys.argv[3])
    except Exception as exc:
        print(f"{time.monotonic() - started:.2f} {type(exc).__name__}: {exc}")
        sys.exit(3)
""")


@pytest.fixture
def sim() -> Iterator[CrmSimulator]:
    with CrmSimulator(generate("tiny", seed=42, as_of=AS_OF), settings=fast_settings()) as simulator:
        yield simulator


def state(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(STATE_SQL).fetchall()


def test_writer_runs_queue_behind_one_another(tmp_path: Path) -> None:
    from orchestration.definitions import defs

    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    jobs = {name: defs().resolve_job_def(name) for name in WRITER_JOBS}
    with fault_case(28, "two overlapping writer runs (manual + schedule)"):
        for name, job in jobs.items():
            running = SimpleNamespace(tags=dict(jobs["nightly_refresh_job"].tags))  # the scheduled night
            counter = TagConcurrencyLimitsCounter(limits, [running])  # what the run queue daemon evaluates
            assert counter.is_blocked(SimpleNamespace(tags=dict(job.tags))), f"{name} would run alongside the night"
        idle = TagConcurrencyLimitsCounter(limits, [])
        assert not idle.is_blocked(SimpleNamespace(tags=dict(jobs["nightly_refresh_job"].tags)))


@pytest.mark.reliability  # ingests the CRMs twice (~20 s); `make test-reliability`
def test_a_second_writer_fails_fast_without_touching_state(sim: CrmSimulator, tmp_path: Path) -> None:
    clean, working = tmp_path / "clean.duckdb", tmp_path / "working.duckdb"
    ingest_into(clean, sim.salesforce_url, sim.hubspot_url)
    ingest_into(working, sim.salesforce_url, sim.hubspot_url)
    before = state(working)
    with fault_case(28, "a second writer while the nightly holds the working file") as case:
        holder = RawWarehouse(working)  # the running night
        try:
            second = subprocess.run([sys.executable, "-c", SECOND_WRITER, str(working), sim.salesforce_url,
                                     sim.hubspot_url], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert second.returncode == 3, second.stdout + second.stderr[-2000:]
            took, message = second.stdout.strip().split(" ", 1)
            assert float(took) < 10 and "lock" in message and str(working) in message, second.stdout
            holder.put_state(holder.get_state("salesforce", "account"))  # the first writer carries on
        finally:
            holder.close()
        after = state(working)
        assert [r[:5] for r in after] == [r[:5] for r in before]
        diff = raw_diff(clean, working, complete=True)
        case.rows_compared, case.rows_lost, case.rows_duplicated = diff.compared, diff.lost, diff.duplicated
        assert not diff.problems, diff.problems


@pytest.mark.reliability  # ingests the CRMs twice (~20 s); `make test-reliability`
def test_lost_home_resumes_from_the_warehouse_cursor(sim: CrmSimulator, tmp_path: Path) -> None:
    home = tmp_path / "wh"
    (home / ".dagster").mkdir(parents=True)
    (home / "logs").mkdir()
    working = home / "working.duckdb"
    ingest_into(working, sim.salesforce_url, sim.hubspot_url)
    first = {(r[0], r[1]): r for r in state(working)}
    with fault_case(29, "working dir and Dagster home lost"):
        survivor = tmp_path / "survivor.duckdb"
        shutil.move(working, survivor)
        shutil.rmtree(home)  # the pipeline's folder, its Dagster home and logs are gone
        home.mkdir()
        shutil.move(survivor, working)
        changes = advance(sim.dataset, days=1)  # the CRMs move on one day
        changed = sum(n for per_kind in changes.values() for n in per_kind.values())
        results = ingest_into(working, sim.salesforce_url, sim.hubspot_url)
        landed = sum(r.rows_inserted + r.rows_updated for r in results)
        with duckdb.connect(str(working), read_only=True) as con:
            raw_rows = sum(con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name LIKE 'raw_%'").fetchall())
        assert 0 < landed < raw_rows / 3, f"{landed} rows landed for {changed} source changes: a full reload?"
        second = {(r[0], r[1]): r for r in state(working)}
        for key, row in first.items():
            # a full reload would stamp a new last_full_sync_at; the cursor moves forward from the committed one
            assert second[key][5] == row[5], f"{key}: full sync again ({row[5]} -> {second[key][5]})"
            if row[2] is not None:
                assert second[key][2] >= row[2], f"{key}: cursor went back"
                assert second[key][2] <= sim.now() and second[key][2] < datetime.now(UTC), key
