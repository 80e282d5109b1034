"""Crash safety of the CRM ingestion: SIGKILL mid-extract and mid-merge, then rerun to completion; the rerun
must converge to the same raw tables (and stream cursors) as an uninterrupted run.

The simulator runs in its own process (``acctwh simulator serve``); each ingestion is a separate process
(``ingest_once.py``) that prints ``commit <n> <operation> <schema.table>`` after every committed transaction.
Kill points:

- mid-merge: ``KILL_AT_COMMIT=K`` makes the child SIGKILL itself inside the K-th transaction, after all its writes
  and just before COMMIT (the ``RawWarehouse.before_commit`` seam);
- mid-extract: the parent SIGKILLs the child right after reading the N-th commit line (the child is then
  reading the next page);
- random: the parent SIGKILLs after a delay drawn from a seeded RNG;
- edges: during the very first commit (the bootstrap of an empty warehouse) and after everything committed
  but before the process exits (no close, no checkpoint: the WAL must replay).

Comparison: every table of ``raw_salesforce`` and ``raw_hubspot`` in B against the reference A: same tables and
columns, primary keys set-equal (no row lost, none extra, none duplicated) and every column except ``_loaded_at``
equal row for row (this covers SystemModstamp/updated_at, ``_is_deleted`` and the data columns); plus
``_meta.stream_state`` (cursor, cursor_id, status) equal per stream.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest

from connectors.simulator.dataset.folder import save
from connectors.simulator.dataset.generate import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = HERE / "ingest_once.py"
FROZEN_NOW = "2025-06-30T00:10:00+00:00"  # HubSpot server clock for every run (dataset clock + refresh delay)
RUN_TIMEOUT = 600.0  # one ingestion process, generous for a loaded 2-core machine
RAW_SCHEMAS = ("raw_salesforce", "raw_hubspot")
ASSOC_KEY = ("from_id", "to_id", "type_id")

# the fast (default) selection: REST increments, a full-reload object, HubSpot metadata, objects + associations
FAST_OBJECTS = {"INGEST_SF_OBJECTS": "Account,Contact,Opportunity,CurrencyType",
                "INGEST_HS_OBJECTS": "companies,contacts,deals"}
ALL_OBJECTS = {"INGEST_SF_OBJECTS": "", "INGEST_HS_OBJECTS": ""}  # every default object of both connectors


# ---------------------------------------------------------------------------------------------- simulator


@dataclass
class SimulatorProcess:
    proc: subprocess.Popen[str]
    salesforce_url: str
    hubspot_url: str


def _wait_http(url: str, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:  # any HTTP answer means it is serving
            return
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"simulator at {url} did not answer: {last}")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    folder = tmp_path_factory.mktemp("kill_resume") / "dataset"
    save(generate("small", seed=1, as_of=date(2025, 6, 30)), folder)
    log = (folder.parent / "simulator.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "simulator", "serve", "--dataset", str(folder),
         "--port", "0", "--hubspot-port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 180
        assert proc.stdout is not None
        while len(urls) < 2:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"simulator exited ({proc.poll()}); see {log.name}")
            match = re.match(r"(Salesforce|HubSpot):\s+(\S+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
            if time.monotonic() > deadline:
                raise TimeoutError("simulator did not print its URLs")
        for url in urls.values():
            _wait_http(url + "/", deadline)
        yield SimulatorProcess(proc, urls["Salesforce"], urls["HubSpot"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        log.close()


# ---------------------------------------------------------------------------------------------- ingestion runs


@dataclass
class Run:
    returncode: int
    lines: list[str]
    seconds: float
    stderr: str = ""
    killed_by_parent: bool = False

    @property
    def commits(self) -> list[tuple[int, str, str]]:
        """(n, operation, schema.table or '-') per committed transaction."""
        out = []
        for line in self.lines:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "commit":
                out.append((int(parts[1]), parts[2], parts[3]))
        return out

    def describe(self) -> str:
        tail = "\n".join(self.lines[-5:])
        return f"rc={self.returncode} after {self.seconds:.1f}s, {len(self.commits)} commits; last lines:\n{tail}"


@dataclass
class Ingest:
    sim: SimulatorProcess
    objects: dict[str, str]
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **more: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KILL_", "INGEST_"))}
        env.update({"SALESFORCE_URL": self.sim.salesforce_url, "SALESFORCE_USERNAME": "etl@example.com",
                    "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok",
                    "HUBSPOT_URL": self.sim.hubspot_url, "HUBSPOT_ACCESS_TOKEN": "pat-test",
                    "INGEST_FROZEN_NOW": FROZEN_NOW, "PYTHONUNBUFFERED": "1", **self.objects, **self.extra_env,
                    **more})
        return env

    def run(self, warehouse: Path, *, kill_after_commit_line: int | None = None,
            kill_after_seconds: float | None = None, **env: str) -> Run:
        """One ingestion process; optionally SIGKILLed by us after the N-th commit line or after a delay."""
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(SCRIPT), str(warehouse)], cwd=ROOT, env=self.env(**env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        lines: list[str] = []
        killed = threading.Event()
        stderr: list[str] = []

        def kill() -> None:
            if proc.poll() is None:
                killed.set()
                proc.send_signal(signal.SIGKILL)

        timer = None
        if kill_after_seconds is not None:
            timer = threading.Timer(kill_after_seconds, kill)
            timer.start()
        watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)
        watchdog.start()
        assert proc.stderr is not None
        err_pipe = proc.stderr
        err_reader = threading.Thread(target=lambda: stderr.append(err_pipe.read()), daemon=True)
        err_reader.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                if (kill_after_commit_line is not None and line.startswith("commit ")
                        and int(line.split()[1]) >= kill_after_commit_line):
                    kill()
            proc.wait(timeout=RUN_TIMEOUT)
        finally:
            for t in (timer, watchdog):
                if t is not None:
                    t.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err_reader.join(timeout=30)
        return Run(proc.returncode, lines, time.monotonic() - started, "".join(stderr), killed.is_set())


def assert_completed(run: Run, what: str) -> None:
    assert run.returncode == 0, f"{what} did not complete: {run.describe()}\nstderr:\n{run.stderr[-3000:]}"
    assert run.lines and run.lines[-1].startswith("done "), f"{what}: {run.describe()}"


def assert_sigkilled(run: Run, what: str) -> None:
    assert run.returncode == -signal.SIGKILL, f"{what} was not SIGKILLed: {run.describe()}\n{run.stderr[-3000:]}"


# ---------------------------------------------------------------------------------------------- comparison


def _key(schema: str, table: str, columns: list[str]) -> tuple[str, ...]:
    if schema == "raw_hubspot" and table.startswith("assoc_"):
        return ASSOC_KEY
    if "Id" in columns:
        return ("Id",)
    return ("id",)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Comparison:
    tables: int = 0
    rows: int = 0
    streams: int = 0
    problems: list[str] = field(default_factory=list)
    per_table: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{self.tables} tables, {self.rows} rows, {self.streams} stream states compared"


def compare_warehouses(reference: Path, candidate: Path) -> Comparison:
    """Every raw table and stream cursor of ``candidate`` against ``reference`` (see the module docstring)."""
    result = Comparison()
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{reference}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{candidate}' AS b (READ_ONLY)")

        def tables(db: str) -> set[tuple[str, str]]:
            rows = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                               "AND schema_name IN ('raw_salesforce', 'raw_hubspot')", [db]).fetchall()
            return {(s, t) for s, t in rows}

        def columns(db: str, schema: str, table: str) -> dict[str, str]:
            rows = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND "
                               "schema_name = ? AND table_name = ? ORDER BY column_index", [db, schema, table])
            return dict(rows.fetchall())

        ta, tb = tables("a"), tables("b")
        if ta != tb:
            result.problems.append(f"tables differ: missing {sorted(ta - tb)}, extra {sorted(tb - ta)}")
        for schema, table in sorted(ta & tb):
            name = f"{schema}.{table}"
            ca, cb = columns("a", schema, table), columns("b", schema, table)
            if ca != cb:
                result.problems.append(f"{name}: columns differ: {sorted(set(ca.items()) ^ set(cb.items()))}")
            cols = [c for c in ca if c in cb and c != "_loaded_at"]
            key = _key(schema, table, cols)
            fa, fb = f"a.{_q(schema)}.{_q(table)}", f"b.{_q(schema)}.{_q(table)}"
            keys = ", ".join(_q(k) for k in key)
            cols_sql = ", ".join(_q(c) for c in cols)
            n_a = con.execute(f"SELECT count(*) FROM {fa}").fetchone()[0]
            n_b, distinct_b = con.execute(f"SELECT count(*), count(DISTINCT ({keys})) FROM {fb}").fetchone()
            lost = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM {fa} EXCEPT SELECT {keys} FROM {fb})"
                               ).fetchone()[0]
            extra = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM {fb} EXCEPT SELECT {keys} FROM {fa})"
                                ).fetchone()[0]
            differ = con.execute(f"SELECT count(*) FROM (SELECT {cols_sql} FROM {fa} EXCEPT ALL "
                                 f"SELECT {cols_sql} FROM {fb})").fetchone()[0]
            result.tables += 1
            result.rows += n_a
            result.per_table[name] = n_a
            duplicated = n_b - distinct_b
            if lost or extra or duplicated or differ or n_a != n_b:
                sample = con.execute(f"SELECT {keys} FROM {fa} EXCEPT SELECT {keys} FROM {fb} ORDER BY ALL LIMIT 3"
                                     ).fetchall()
                diff_cols = []
                if differ and not lost:
                    for c in cols:
                        n = con.execute(f"SELECT count(*) FROM {fa} x JOIN {fb} y USING ({keys}) "
                                        f"WHERE x.{_q(c)} IS DISTINCT FROM y.{_q(c)}").fetchone()[0]
                        if n:
                            diff_cols.append(f"{c}:{n}")
                result.problems.append(
                    f"{name}: reference {n_a} rows, rerun {n_b} rows; lost {lost}, extra {extra}, "
                    f"duplicated {duplicated}, rows differing {differ} (columns {diff_cols}); lost keys e.g. {sample}")
        state_sql = ("SELECT source, stream, cursor, cursor_id, status FROM {}._meta.stream_state "
                     "ORDER BY source, stream")
        sa = con.execute(state_sql.format("a")).fetchall()
        sb = con.execute(state_sql.format("b")).fetchall()
        result.streams = len(sa)
        if sa != sb:
            da, db_ = set(sa) - set(sb), set(sb) - set(sa)
            result.problems.append(f"_meta.stream_state differs: reference only {sorted(da, key=str)}, "
                                   f"rerun only {sorted(db_, key=str)}")
    finally:
        con.close()
    return result


def assert_converged(reference: Path, candidate: Path, what: str) -> Comparison:
    cmp = compare_warehouses(reference, candidate)
    assert cmp.tables > 0 and cmp.rows > 0, f"{what}: nothing compared"
    assert not cmp.problems, f"{what}: {cmp.summary()}; rows lost/duplicated/different (must be 0):\n" + \
        "\n".join(cmp.problems)
    print(f"{what}: converged; {cmp.summary()}; 0 rows lost, 0 duplicated, 0 different")
    return cmp


# ---------------------------------------------------------------------------------------------- scenarios


@dataclass
class Reference:
    path: Path
    run: Run

    def commit_index(self, table: str, nth: int = 1, operation: str = "merge") -> int:
        """The number of the ``nth`` commit of ``operation`` on ``table`` in the reference run."""
        hits = [n for n, op, target in self.run.commits if op == operation and target == table]
        assert len(hits) >= nth, f"reference run has {len(hits)} {operation} commits on {table}, wanted #{nth}"
        return hits[nth - 1]

    def after_table(self, table: str, nth: int = 1) -> int:
        """The commit right after the ``nth`` merge on ``table`` (that batch's cursor is then committed)."""
        return self.commit_index(table, nth) + 1


def make_reference(ingest: Ingest, directory: Path) -> Reference:
    path = directory / "reference.duckdb"
    run = ingest.run(path)
    assert_completed(run, "reference run")
    return Reference(path, run)


def kill_and_resume(ingest: Ingest, ref: Reference, directory: Path, label: str, *,
                    kill_at_commit: int | None = None, kill_after_commit_line: int | None = None,
                    kill_after_seconds: float | None = None, kill_at_end: bool = False) -> Comparison:
    path = directory / f"{re.sub(r'[^A-Za-z0-9]+', '_', label)}.duckdb"
    env = {}
    if kill_at_commit is not None:
        env["KILL_AT_COMMIT"] = str(kill_at_commit)
    if kill_at_end:
        env["KILL_AT_END"] = "1"
    first = ingest.run(path, kill_after_commit_line=kill_after_commit_line, kill_after_seconds=kill_after_seconds,
                       **env)
    assert_sigkilled(first, label)
    where = first.lines[-1] if first.lines else "(no output)"
    wal = Path(f"{path}.wal")
    wal_note = f", left a {wal.stat().st_size}-byte WAL" if wal.exists() else ""
    rerun = ingest.run(path)
    assert_completed(rerun, f"{label}: rerun")
    cmp = assert_converged(ref.path, path, f"{label} [first run ended: {where!r}]")
    print(f"  {label}: killed after {len(first.commits)} commits ({where!r}) in {first.seconds:.1f}s{wal_note}; "
          f"rerun {len(rerun.commits)} commits in {rerun.seconds:.1f}s")
    return cmp


@pytest.fixture(scope="module")
def fast_ingest(simulator: SimulatorProcess) -> Ingest:
    return Ingest(simulator, FAST_OBJECTS)


@pytest.fixture(scope="module")
def fast_reference(fast_ingest: Ingest, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return make_reference(fast_ingest, tmp_path_factory.mktemp("fast_reference"))


def test_reference_run_is_repeatable(fast_ingest: Ingest, fast_reference: Reference, tmp_path: Path) -> None:
    """Sanity check of the comparison itself: two uninterrupted runs give the same tables and cursors."""
    other = make_reference(fast_ingest, tmp_path)
    cmp = assert_converged(fast_reference.path, other.path, "second uninterrupted run")
    assert cmp.per_table["raw_salesforce.contact"] == 2087
    assert any(t.startswith("raw_hubspot.assoc_") and n > 0 for t, n in cmp.per_table.items())


# make test kills ingestion 20+ times inside the whole nightly (tests/reliability/test_kill_nightly.py); this
# commit-by-commit campaign runs with `make test-reliability`
@pytest.mark.reliability
def test_kill_mid_merge_and_mid_extract_converges(fast_ingest: Ingest, fast_reference: Reference,
                                                  tmp_path: Path) -> None:
    ref = fast_reference
    # mid-merge: inside the 3rd Salesforce Contact batch (REST: cursor in the same transaction)
    kill_and_resume(fast_ingest, ref, tmp_path, "mid-merge salesforce contact #3",
                    kill_at_commit=ref.commit_index("salesforce.contact", 3))
    # mid-merge: the transaction right after the first HubSpot companies batch committed (its list cursor is
    # then durable, so the batch's associations must be too)
    kill_and_resume(fast_ingest, ref, tmp_path, "mid-merge right after the first hubspot companies batch",
                    kill_at_commit=ref.after_table("hubspot.companies", 1))
    # mid-extract: after the 2nd committed Salesforce Opportunity batch, while the next REST page is being read
    kill_and_resume(fast_ingest, ref, tmp_path, "mid-extract salesforce opportunity after batch 2",
                    kill_after_commit_line=ref.commit_index("salesforce.opportunity", 2))
    # mid-extract: after the 2nd committed HubSpot contacts batch, while the next page is being read
    kill_and_resume(fast_ingest, ref, tmp_path, "mid-extract hubspot contacts after batch 2",
                    kill_after_commit_line=ref.commit_index("hubspot.contacts", 2))


def test_kill_edges_converge(fast_ingest: Ingest, fast_reference: Reference, tmp_path: Path) -> None:
    # the very first commit of an empty warehouse (the bootstrap of _meta and the raw schemas)
    kill_and_resume(fast_ingest, fast_reference, tmp_path, "first commit (bootstrap)", kill_at_commit=1)
    # everything committed, the process dies before closing the warehouse (WAL replay on the rerun)
    kill_and_resume(fast_ingest, fast_reference, tmp_path, "after everything committed", kill_at_end=True)


# ---------------------------------------------------------------------------------------------- slow matrix


@pytest.fixture(scope="module")
def all_ingest(simulator: SimulatorProcess) -> Ingest:
    return Ingest(simulator, ALL_OBJECTS)


@pytest.fixture(scope="module")
def all_reference(all_ingest: Ingest, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    return make_reference(all_ingest, tmp_path_factory.mktemp("all_reference"))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_kill_matrix_every_object(all_ingest: Ingest, all_reference: Reference, tmp_path: Path) -> None:
    """Every default object of both connectors; kill points by commit number and by seeded random delays."""
    ref = all_reference
    commits = ref.run.commits
    total = len(commits)
    rng = random.Random(20250630)
    # mid-merge at a spread of commit numbers (whatever transaction that is), plus named ones
    for fraction in (0.1, 0.35, 0.6, 0.85):
        k = max(2, round(total * fraction))
        kill_and_resume(all_ingest, ref, tmp_path, f"mid-merge commit {k} of {total} {commits[k - 1][1:]}",
                        kill_at_commit=k)
    kill_and_resume(all_ingest, ref, tmp_path, "mid-merge salesforce task #5",
                    kill_at_commit=ref.commit_index("salesforce.task", 5))
    kill_and_resume(all_ingest, ref, tmp_path, "mid-merge right after hubspot deals batch 3",
                    kill_at_commit=ref.after_table("hubspot.deals", 3))
    kill_and_resume(all_ingest, ref, tmp_path, "mid-merge hubspot emails->contacts associations #2",
                    kill_at_commit=ref.commit_index("hubspot.assoc_emails__contacts", 2))
    # mid-extract after the N-th commit line
    kill_and_resume(all_ingest, ref, tmp_path, "mid-extract salesforce opportunityhistory after batch 3",
                    kill_after_commit_line=ref.commit_index("salesforce.opportunityhistory", 3))
    kill_and_resume(all_ingest, ref, tmp_path, "mid-merge hubspot first companies associations",
                    kill_at_commit=ref.commit_index("hubspot.assoc_companies__contacts", 1))
    for n in sorted(rng.sample(range(3, total - 20), 3)):
        kill_and_resume(all_ingest, ref, tmp_path, f"mid-extract after commit line {n} {commits[n - 1][1:]}",
                        kill_after_commit_line=n)
    # random delays (seeded), within the reference run's duration
    for _ in range(3):
        delay = round(rng.uniform(0.15, 0.8) * ref.run.seconds, 2)
        kill_and_resume(all_ingest, ref, tmp_path, f"random delay {delay}s", kill_after_seconds=delay)
