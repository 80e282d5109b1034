"""Storage faults of the working DuckDB file (fault matrix rows 25, 26, 27).

Each case ingests the tiny simulator dataset into ``<home>/working.duckdb`` (in a subprocess where the fault needs
one), injects the fault, recovers, re-ingests and compares every raw table with a clean ingestion: the same
comparison as the kill harness (``kill_harness.raw_diff``). A published serving file sits next to the working file
the whole time; it must stay byte-identical and open read-only.

* 25 disk full: ``RLIMIT_FSIZE`` in the ingesting process (with SIGXFSZ ignored, a write past the limit fails with
  EFBIG, the error a full disk gives as ENOSPC; no root or mount needed), during the load and during the CHECKPOINT
  that follows a WAL replay.
* 26 a corrupt or truncated WAL at startup (``connectors/warehouse/recovery.py``).
* 27 a SQL GUI holding the working file read-write: the writer fails at once, naming the file; a BI reader holding
  the serving file during a publish keeps its whole version (the swap itself: tests/warehouse/test_serving.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from connectors.simulator.dataset.generate import generate
from connectors.simulator.land import fast_settings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse
from connectors.warehouse.recovery import QUARANTINE_INFIX, recover_working_file
from connectors.warehouse.serving import publish
from orchestration.defs.resources import WarehouseResource
from tests.reliability.ledger import FaultCase, fault_case
from tests.reliability.warehouse_compare import ingest_into, raw_diff, serving_version

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 30)

# Ingest both CRMs (the simulator at the URLs in argv) into a file, in a process of its own. Modes: ``crash`` (SIGKILL
# instead of closing, so every committed transaction is only in the WAL), ``fsize=N`` (no file this process writes
# may grow past N bytes), ``plain``.
VICTIM = textwrap.dedent("""
    import os, resource, signal, sys
    from tests.reliability.warehouse_compare import ingest_into
    from connectors.warehouse.raw import RawWarehouse
    mode, salesforce_url, hubspot_url, path = sys.argv[1:5]
    if mode.startswith("fsize="):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        limit = int(mode.split("=")[1])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if mode == "crash":
        RawWarehouse.close = lambda self: os.kill(os.getpid(), signal.SIGKILL)
    ingest_into(path, salesforce_url, hubspot_url)
""")


GUI = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, like a SQL GUI with the file open
    print("open", flush=True)
    sys.stdin.read()
""")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def victim(mode: str, sim: CrmSimulator, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", VICTIM, mode, sim.salesforce_url, sim.hubspot_url, str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def sim() -> Iterator[CrmSimulator]:
    """The simulator lives in this process, so a victim's file-size limit applies to the warehouse only."""
    with CrmSimulator(generate("tiny", seed=42, as_of=AS_OF), settings=fast_settings()) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def clean(sim: CrmSimulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean, uninterrupted ingestion of the same dataset: what every recovery must converge to."""
    path = tmp_path_factory.mktemp("storage") / "clean.duckdb"
    ingest_into(path, sim.salesforce_url, sim.hubspot_url)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A warehouse home with one published version (a tiny stand-in mart) next to the working file."""
    home = tmp_path / "wh"
    home.mkdir()
    candidate = tmp_path / "candidate.duckdb"
    with duckdb.connect(str(candidate)) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.dim_accounts AS SELECT range AS id FROM range(50)")
    publish(candidate, home, ["dim_accounts"])
    yield home


def assert_serving_intact(home: Path, digest: str) -> None:
    serving = home / "serving" / "marts.duckdb"
    assert sha256(serving) == digest, "the published serving file changed"
    assert serving_version(home) is not None  # and it opens read-only
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dim_accounts").fetchone()[0] == 50


def recover_and_compare(case: FaultCase, sim: CrmSimulator, working: Path, clean: Path) -> None:
    """The next run: re-ingest (incremental from the committed cursors) and compare with the clean ingestion."""
    ingest_into(working, sim.salesforce_url, sim.hubspot_url)
    diff = raw_diff(clean, working, complete=True)
    case.rows_compared, case.rows_lost, case.rows_duplicated = diff.compared, diff.lost, diff.duplicated
    assert not diff.problems, diff.problems


# ---------------------------------------------------------------------------------------------- quick (make test)

CRASHED_WRITER = textwrap.dedent("""
    import os, signal, sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("CREATE SCHEMA raw_salesforce")
    con.execute("CREATE TABLE raw_salesforce.account AS SELECT range AS id FROM range(100)")
    con.execute("CHECKPOINT")
    con.execute("INSERT INTO raw_salesforce.account SELECT range + 100 FROM range(5000)")  # committed, WAL only
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_corrupt_wal_quarantine_quick(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The quarantine itself, without a CRM: a crashed writer's WAL, corrupted; the next writer moves it aside."""
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    with fault_case(26, "corrupt .wal at startup (quick)") as case:
        crashed = subprocess.run([sys.executable, "-c", CRASHED_WRITER, str(working)], capture_output=True, text=True,
                                 timeout=120)
        assert crashed.returncode == -9, crashed.stderr
        wal = working.with_name(working.name + ".wal")
        data = bytearray(wal.read_bytes())
        middle = len(data) // 3
        data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
        wal.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING, logger="acctwh.warehouse.recovery"), RawWarehouse(working) as wh:
            rows = wh.table_rows("salesforce", "account")
        assert wh.recovered is not None and wh.recovered.moved_to.read_bytes() == bytes(data)
        assert not wal.exists() or wal.read_bytes() != bytes(data)
        assert str(wh.recovered.moved_to) in caplog.text
        assert rows == 100  # the last checkpoint; the lost tail is re-ingested by the next run (see below)
        case.rows_compared = rows
        assert_serving_intact(home, digest)


# ---------------------------------------------------------------------------------------------- row 25


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
@pytest.mark.parametrize("limit", [256 * 1024, 1024 * 1024], ids=["early", "late"])  # a clean load's WAL: ~1.5 MB
def test_disk_full_during_the_load(sim: CrmSimulator, clean: Path, home: Path, limit: int) -> None:
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    with fault_case(25, f"disk full during the load ({limit // 1024} KiB free)") as case:
        run = victim(f"fsize={limit}", sim, working)
        assert run.returncode != 0, "the load cannot have fit"
        error = run.stderr.strip().splitlines()[-1]
        assert "File too large" in run.stderr or "No space left" in run.stderr, run.stderr[-2000:]
        assert str(working) in run.stderr, f"the error does not name the file: {error}"
        assert_serving_intact(home, digest)
        recover_and_compare(case, sim, working, clean)  # "cleanup" = space is back
        assert_serving_intact(home, digest)


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
def test_disk_full_during_checkpoint(sim: CrmSimulator, clean: Path, home: Path) -> None:
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    with fault_case(25, "disk full during CHECKPOINT (WAL replay on open)") as case:
        crashed = victim("crash", sim, working)
        assert crashed.returncode == -9, crashed.stderr[-2000:]
        wal = working.with_name(working.name + ".wal")
        assert wal.exists() and wal.stat().st_size > working.stat().st_size
        run = victim(f"fsize={working.stat().st_size + 4096}", sim, working)  # "open" would do too
        assert run.returncode != 0 and ("File too large" in run.stderr or "No space left" in run.stderr), \
            run.stderr[-2000:]
        assert_serving_intact(home, digest)
        recover_and_compare(case, sim, working, clean)
        assert_serving_intact(home, digest)


# ---------------------------------------------------------------------------------------------- row 26


def _crashed_with_wal(sim: CrmSimulator, working: Path) -> Path:
    crashed = victim("crash", sim, working)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    wal = working.with_name(working.name + ".wal")
    assert wal.stat().st_size > 0
    return wal


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
def test_corrupt_wal_is_quarantined_and_the_raw_layer_rebuilt(sim: CrmSimulator, clean: Path, home: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    with fault_case(26, "corrupt .wal at startup") as case:
        wal = _crashed_with_wal(sim, working)
        data = bytearray(wal.read_bytes())
        middle = len(data) // 3
        data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
        wal.write_bytes(bytes(data))
        with pytest.raises(duckdb.Error, match="WAL"):  # what any writer would meet without recovery
            duckdb.connect(str(working)).close()
        with caplog.at_level(logging.WARNING, logger="acctwh.warehouse.recovery"):
            wh = RawWarehouse(working)
        wh.close()
        assert wh.recovered is not None, "the corrupt WAL was not detected"
        kept = list(home.glob(f"working.duckdb.wal{QUARANTINE_INFIX}*"))
        assert kept == [wh.recovered.moved_to], kept
        assert kept[0].read_bytes() == bytes(data), "the quarantined WAL must be the original bytes"
        assert str(kept[0]) in caplog.text and "could not be replayed" in caplog.text
        assert_serving_intact(home, digest)
        recover_and_compare(case, sim, working, clean)
        assert kept[0].exists()  # never deleted
        assert_serving_intact(home, digest)


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
def test_truncated_wal_tail_is_dropped_and_rebuilt(sim: CrmSimulator, clean: Path, home: Path) -> None:
    """DuckDB treats a torn WAL tail as uncommitted; data and cursors were committed together, so the rerun
    re-ingests exactly what the tail held."""
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    with fault_case(26, "truncated .wal at startup") as case:
        wal = _crashed_with_wal(sim, working)
        os.truncate(wal, wal.stat().st_size // 2)
        wh = RawWarehouse(working)
        wh.close()
        recover_and_compare(case, sim, working, clean)
        assert_serving_intact(home, digest)


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
def test_a_lock_is_never_mistaken_for_a_bad_wal(sim: CrmSimulator, home: Path) -> None:
    working = home / "working.duckdb"
    _crashed_with_wal(sim, working)  # a WAL next to the file, which the GUI then holds open
    gui = subprocess.Popen([sys.executable, "-c", GUI, str(working)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        assert gui.stdout.readline().strip() == "open"
        with pytest.raises(duckdb.Error, match="lock"):
            recover_working_file(working)
        assert not list(home.glob(f"*{QUARANTINE_INFIX}*")), "a live writer's WAL was moved"
    finally:
        gui.stdin.close()
        gui.wait(timeout=30)


# ---------------------------------------------------------------------------------------------- row 27


@pytest.mark.reliability  # ~10-30 s each (ingestions in subprocesses); `make test-reliability`
def test_gui_holding_the_working_file_fails_the_writer_fast(sim: CrmSimulator, clean: Path, home: Path) -> None:
    digest = sha256(home / "serving" / "marts.duckdb")
    working = home / "working.duckdb"
    ingest_into(working, sim.salesforce_url, sim.hubspot_url)
    with fault_case(27, "a SQL GUI holds the working file read-write") as case:
        gui = subprocess.Popen([sys.executable, "-c", GUI, str(working)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        try:
            assert gui.stdout.readline().strip() == "open"
            started = time.monotonic()
            with pytest.raises(dg.Failure) as failure:
                WarehouseResource(home=str(home)).open()
            took = time.monotonic() - started
            assert took < 10, f"the writer waited {took:.1f}s instead of failing"
            text = failure.value.description or ""
            assert str(working.resolve()) in text and "locked by another process" in text, text
            assert failure.value.allow_retries is False  # retrying cannot help while the GUI keeps it open
        finally:
            gui.stdin.close()
            gui.wait(timeout=30)
        diff = raw_diff(clean, working, complete=True)  # nothing was touched meanwhile
        case.rows_compared, case.rows_lost, case.rows_duplicated = diff.compared, diff.lost, diff.duplicated
        assert not diff.problems, diff.problems
        assert_serving_intact(home, digest)
