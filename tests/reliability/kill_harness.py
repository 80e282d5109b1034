"""Kill-and-resume harness for ``nightly_refresh_job`` (fault matrix rows 20-22).

The real job runs through Dagster on the simulator, in forked children of one pre-loaded worker process
(``kill_worker.py``); the simulator runs in this process (threads) and serves every run the same dataset, one day
after the ``baseline`` raw layer (a clean ingestion of the day before). A campaign is a chain of runs on ONE warehouse
home, each run resuming what the previous (killed) one left; every round of the chain starts again from the baseline
raw layer, so the ingestion a kill interrupts lands real changes (a cursor committed ahead of its rows loses some):

* a **kill** is SIGKILL of the run's whole process group at a point sampled with a seeded RNG: ``extract`` (a time
  drawn uniformly within an ingestion step, measured on the clean run), ``merge`` (inside the N-th raw-layer
  transaction, after its writes, before COMMIT), ``checks`` (uniformly within a raw-table check or the GX step),
  ``dbt`` (uniformly within ``dbt build``) or ``publish`` (one of the seams in :data:`kill_worker.PUBLISH_POINTS`);
* after **every** run, killed or not: every raw row present equals a clean-run row or its baseline version (no
  duplicate, no half-merged or foreign row), and the serving file either does not exist yet or opens read-only and
  equals the clean run's marts row for row (so it is the old or the new version, never a mix);
* every kill is **settled** by the first later run that got past the point the kill could have damaged (a kill in a
  read-only check step by its own run): raw tables set-equal to the clean run (primary key + modstamp, and every
  other column but ``_loaded_at``) once a run finished ingestion; the working marts equal the clean run's once a
  run finished dbt;
  no orphan candidate (staging folders, temp links, version folders without manifest, ``__dbt_tmp``/``__dbt_backup``
  relations) once a rerun published (publish kills). Each settled kill is one ledger case (rows 20/21/22).

Runs are ordered in rounds so that every kill is settled by the very next run that can settle it: an ingestion kill
is followed by a rerun that is killed only after its ingestion finished (raw-table checks, dbt, GX or publish), a
dbt kill by a rerun killed after dbt, a publish kill by a rerun that completes. The chain ends with a run that
completes, so the last comparison is a whole clean night.
"""

from __future__ import annotations

import json
import math
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.warehouse.versions import parquet_version
from tests.reliability.kill_worker import PUBLISH_POINTS
from tests.reliability.ledger import fault_case
from tests.reliability.warehouse_compare import (
    RAW_SCHEMAS,
    _q,
    _tables,
    attached,
    marts_diff,
    orphans,
    raw_diff,
    serving_version,
)

ROOT = Path(__file__).resolve().parents[2]
INGEST_STEPS = ("hubspot_raw", "salesforce_raw")
RAW_CHECK_STEPS = ("hubspot_completeness", "hubspot_primary_keys", "salesforce_completeness",
                   "salesforce_primary_keys")
DBT_STEP, GX_STEP, PUBLISH_STEP = "account_dbt_models", "gx_mart_suites", "published_marts"
STAGE_ROW = {"extract": 20, "merge": 21, "checks": 22, "dbt": 22, "publish": 22}
RUN_TIMEOUT_S = 900.0


def stage_of(step: str, seam: str | None = None) -> str:
    if step in INGEST_STEPS:
        return "merge" if seam and seam.startswith("merge") else "extract"
    if step == DBT_STEP:
        return "dbt"
    if step == PUBLISH_STEP:
        return "publish"
    return "checks"


# ---------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class KillPlan:
    """Where to kill one run: a timed kill (``step`` + ``delay_s``) or a seam (``commit`` / ``publish_point``)."""

    stage: str
    step: str | None = None
    delay_s: float | None = None
    commit: int | None = None
    publish_point: str | None = None

    def describe(self) -> str:
        if self.commit is not None:
            return f"merge: inside raw transaction #{self.commit} before COMMIT"
        if self.publish_point is not None:
            return f"publish: seam {self.publish_point}"
        return f"{self.stage}: {self.delay_s:.2f}s into {self.step}"


@dataclass
class RunOutcome:
    killed: bool
    success: bool | None
    seconds: float
    steps: dict[str, list[float]] = field(default_factory=dict)  # step -> [start, end?] (monotonic)
    failed_steps: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    commits: int = 0
    seam: str | None = None
    kill_t: float | None = None
    landed_step: str | None = None

    def finished(self, step: str) -> bool:
        return len(self.steps.get(step, [])) == 2 and step not in self.failed_steps

    @property
    def ingested(self) -> bool:
        return all(self.finished(s) for s in INGEST_STEPS)

    @property
    def built(self) -> bool:
        return self.finished(DBT_STEP)

    @property
    def published(self) -> bool:
        return self.finished(PUBLISH_STEP)

    @property
    def stage(self) -> str | None:
        return stage_of(self.landed_step, self.seam) if self.landed_step else None

    def durations(self) -> dict[str, float]:
        return {s: t[1] - t[0] for s, t in self.steps.items() if len(t) == 2}


class Worker:
    """The pre-loaded Dagster process that forks one child per run (see ``kill_worker.py``)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.proc: subprocess.Popen[bytes] | None = None
        self.load_s = 0.0

    def start(self) -> Worker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        stderr = (self.workdir / "worker.err").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.kill_worker"], cwd=ROOT, env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        stderr.close()
        threading.Thread(target=self._read, daemon=True).start()
        ready = self._next(300)
        if ready.get("event") != "ready":
            raise RuntimeError(f"kill worker did not start: {ready}; see {self.workdir / 'worker.err'}")
        self.load_s = ready["load_s"]
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            event = self.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return {"event": "timeout"}
        if event is None:
            raise RuntimeError(f"kill worker exited; see {self.workdir / 'worker.err'}")
        return event

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def run(self, home: Path, as_of: str, plan: KillPlan | None = None) -> RunOutcome:
        """One nightly run; with a plan, SIGKILL its process group at the planned point.

        A seam or timed kill that the run never reaches (it finished that stage sooner than the clean run did) falls
        back to a kill when ingestion ends (``merge``) or lands in a later step; the outcome says where it landed.
        """
        assert self.proc is not None and self.proc.stdin is not None
        request = {"home": str(home), "as_of": as_of, "log": str(home.parent / f"{home.name}.log"),
                   "dbt_target": str(self.workdir / "dbt-target"),
                   "kill_commit": plan.commit if plan else None,
                   "kill_publish": plan.publish_point if plan else None}
        started = time.monotonic()
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        pid = self._next(60)
        if pid.get("event") != "pid":
            raise RuntimeError(f"kill worker did not fork: {pid}")
        out = RunOutcome(killed=False, success=None, seconds=0.0)
        kill_at: float | None = None
        fallback = plan is not None and plan.commit is not None

        def kill() -> None:
            nonlocal kill_at
            kill_at = None
            if out.kill_t is None:
                out.kill_t = time.monotonic()
                try:
                    os.killpg(pid["pid"], signal.SIGKILL)
                except ProcessLookupError:  # it finished on its own meanwhile
                    out.kill_t = None

        deadline = started + RUN_TIMEOUT_S
        while True:
            now = time.monotonic()
            if kill_at is not None and now >= kill_at:
                kill()
                continue
            wait = min(deadline, kill_at if kill_at is not None else deadline) - now
            event = self._next(wait)
            kind = event["event"]
            if kind == "timeout":
                if time.monotonic() >= deadline:
                    os.killpg(pid["pid"], signal.SIGKILL)
                    raise TimeoutError(f"run in {home} did not finish in {RUN_TIMEOUT_S}s")
                continue
            if kind == "step":
                slot = out.steps.setdefault(event["step"], [])
                slot.append(event["t"])
                if event["kind"] == "STEP_FAILURE":
                    out.failed_steps.append(event["step"])
                if (plan is not None and event["kind"] == "STEP_START" and event["step"] == plan.step
                        and plan.delay_s is not None):
                    kill_at = event["t"] + plan.delay_s
                if (fallback and event["kind"] == "STEP_START" and out.ingested and out.kill_t is None
                        and out.seam is None):
                    kill()  # the merge seam was never reached: kill at the first step after ingestion
            elif kind == "commit":
                out.commits = event["n"]
            elif kind == "seam":
                out.seam, out.kill_t = event["where"], event["t"]
            elif kind == "result":
                out.success, out.failures = event["success"], event["failures"]
            elif kind == "exit":
                out.killed = event["signal"] == signal.SIGKILL
                break
        out.seconds = time.monotonic() - started
        if out.killed:
            if out.kill_t is None:
                raise AssertionError(f"run in {home} died of SIGKILL that the harness did not send: {out}")
            open_steps = [s for s, t in out.steps.items() if len(t) == 1]
            if open_steps:
                out.landed_step = open_steps[-1]
            else:  # between two steps: count it for the step that had just ended
                out.landed_step = max(out.steps, key=lambda s: out.steps[s][-1]) if out.steps else INGEST_STEPS[0]
        return out


# ---------------------------------------------------------------------------------------------- the campaign


@dataclass
class Reference:
    """The clean, uninterrupted night every killed chain is compared with."""

    home: Path
    outcome: RunOutcome
    raw_rows: int
    mart_rows: int
    baseline: Path | None = None
    outcome_as_of: str = ""

    @property
    def working(self) -> Path:
        return self.home / "working.duckdb"

    @property
    def serving(self) -> Path:
        return self.home / "serving" / "marts.duckdb"

    def duration(self, step: str) -> float:
        return self.outcome.durations()[step]


def start_from(home: Path, baseline: Path | None) -> None:
    """Put yesterday's working file (``baseline``, a clean ingestion before the CRMs moved on) in ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    working = home / "working.duckdb"
    for stale in (working, working.with_name(working.name + ".wal")):
        stale.unlink(missing_ok=True)
    if baseline is not None:
        shutil.copyfile(baseline, working)


def make_reference(worker: Worker, home: Path, as_of: str, baseline: Path | None = None) -> Reference:
    start_from(home, baseline)
    outcome = worker.run(home, as_of)
    if not outcome.success:
        raise AssertionError(f"the clean reference run failed: {outcome.failures}")
    with attached(ref=home / "working.duckdb") as con:
        raw = sum(int(con.execute(f"SELECT count(*) FROM ref.{_q(s)}.{_q(t)}").fetchone()[0])
                  for s, t in _tables(con, "ref", RAW_SCHEMAS))
        marts = sum(int(con.execute(f"SELECT count(*) FROM ref.marts.{_q(t)}").fetchone()[0])
                    for _, t in _tables(con, "ref", ("marts",)))
    return Reference(home, outcome, raw, marts, baseline, as_of)


# A round is the kills of consecutive runs; each run's kill lies past the point the previous kill could damage.
SHORT_ROUND = ("ingest", "raw_checks")
LONG_ROUND = ("ingest", "raw_checks", "dbt", "gx", "publish")


def plan_rounds(kills: int, rng: random.Random, *, long_share: float = 0.25) -> list[tuple[str, ...]]:
    """Round shapes for ``kills`` kills: at least one long round (dbt and publish are expensive), the rest short.

    Fewer than 40 kills use a long round without the GX kill (its rerun costs a whole dbt build); the raw-table
    checks still cover the ``checks`` stage.
    """
    long_round = LONG_ROUND if kills >= 40 else tuple(s for s in LONG_ROUND if s != "gx")
    n_long = max(1, round(kills * long_share / len(long_round)))
    n_short = max(0, math.ceil((kills - n_long * len(long_round)) / len(SHORT_ROUND)))
    rounds = [SHORT_ROUND] * n_short + [long_round] * (n_long - 1)
    rng.shuffle(rounds)
    return [*rounds, long_round]  # a long round last: the chain ends with a completed night


@dataclass
class Pending:
    plan: KillPlan
    outcome: RunOutcome
    index: int

    @property
    def stage(self) -> str:
        return self.outcome.stage or self.plan.stage

    def settled_by(self, run: RunOutcome) -> bool:
        if not run.ingested:
            return False
        if self.stage in ("dbt", "publish") and not run.built:
            return False
        return not (self.stage == "publish" and not run.published)


@dataclass
class CampaignReport:
    seed: int
    kills: list[tuple[str, str]] = field(default_factory=list)  # (landed stage, plan description)
    runs: int = 0
    rows_compared: int = 0
    rows_lost: int = 0
    rows_duplicated: int = 0
    seconds: float = 0.0

    def by_stage(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for stage, _ in self.kills:
            counts[stage] = counts.get(stage, 0) + 1
        return counts

    def summary(self) -> str:
        return (f"seed {self.seed}: {len(self.kills)} kills over {self.runs} runs in {self.seconds:.0f}s "
                f"(by stage {self.by_stage()}); {self.rows_compared:,} rows compared, {self.rows_lost} lost, "
                f"{self.rows_duplicated} duplicated")


class Campaign:
    """One chain of killed and resumed nights on a fresh home, checked against ``reference``."""

    def __init__(self, worker: Worker, reference: Reference, home: Path, as_of: str, seed: int,
                 say: Any = print) -> None:
        self.worker, self.ref, self.home, self.as_of = worker, reference, home, as_of
        self.rng = random.Random(seed)
        self.report = CampaignReport(seed=seed)
        self.say = say
        self.pending: list[Pending] = []
        self.commit_budget = max(1, reference.outcome.commits)
        self.seconds = dict(reference.outcome.durations())  # per step: shortest seen, so timed kills land in it

    # -- sampling

    def _plan(self, slot: str) -> KillPlan:
        rng = self.rng
        if slot == "ingest":
            if rng.random() < 0.5:
                return KillPlan("merge", commit=rng.randint(1, self.commit_budget))
            step = rng.choice(INGEST_STEPS)
            return KillPlan("extract", step=step, delay_s=rng.uniform(0, self.seconds[step]))
        if slot == "raw_checks":
            step = rng.choice(RAW_CHECK_STEPS)
            return KillPlan("checks", step=step, delay_s=rng.uniform(0, self.seconds[step]))
        if slot == "gx":
            return KillPlan("checks", step=GX_STEP, delay_s=rng.uniform(0, self.ref.duration(GX_STEP)))
        if slot == "dbt":
            return KillPlan("dbt", step=DBT_STEP, delay_s=rng.uniform(0, self.ref.duration(DBT_STEP)))
        if slot == "publish":
            return KillPlan("publish", publish_point=rng.choice(PUBLISH_POINTS))
        raise ValueError(slot)

    # -- checking

    def _check_always(self, run: RunOutcome, label: str, *, raw_too: bool, before: tuple[str, int] | None) -> None:
        """After any run: present raw rows are clean rows; the serving file is absent or a whole clean version."""
        if raw_too:  # (skipped when a settle compares the complete raw layer right after: a stronger check)
            raw = raw_diff(self.ref.working, self.home / "working.duckdb", complete=False, baseline=self.ref.baseline)
            assert not raw.problems, f"{label}: raw layer damaged: " + "; ".join(raw.problems)
        if (self.home / "serving" / "marts.duckdb").exists():
            assert serving_version(self.home) is not None, f"{label}: serving file has no _publication"
            served = marts_diff(self.ref.serving, self.home / "serving" / "marts.duckdb",
                                ref_schema="main", cand_schema="main")
            assert not served.problems, f"{label}: serving file is not a whole clean version: {served.problems}"
            linked = parquet_version(self.home)  # the Parquet link may trail the DuckDB file, never dangle
            if linked is None:  # only a first publication killed between its two swaps has no link yet
                assert before is None, f"{label}: serving/parquet vanished"
            else:
                assert (self.home / "serving" / "versions" / linked / "manifest.json").exists(), \
                    f"{label}: serving/parquet points at {linked!r}, not a complete version"

    def _settle(self, run: RunOutcome, label: str) -> None:
        if not run.ingested:
            return
        due = [p for p in self.pending if p.settled_by(run)]
        raw = raw_diff(self.ref.working, self.home / "working.duckdb", complete=True)
        assert due or not raw.problems, f"{label}: raw layer differs from the clean night: {raw.problems}"
        marts = marts_diff(self.ref.working, self.home / "working.duckdb") if run.built else None
        leftover = orphans(self.home) if run.published else []
        for p in due:
            self.pending.remove(p)
            stage = p.stage
            with fault_case(STAGE_ROW[stage], f"SIGKILL during {stage}") as case:
                case.rows_compared = raw.compared
                case.rows_lost, case.rows_duplicated = raw.lost, raw.duplicated
                assert not raw.problems, f"kill #{p.index} ({p.plan.describe()}), after {label}: {raw.problems}"
                if stage in ("dbt", "publish") or marts is not None:
                    assert marts is not None
                    case.rows_compared += marts.compared
                    case.rows_lost += marts.lost
                    case.rows_duplicated += marts.extra
                    assert not marts.problems, f"kill #{p.index} ({p.plan.describe()}), after {label}: {marts.problems}"
                if stage == "publish":
                    assert not leftover, f"kill #{p.index} ({p.plan.describe()}): orphans after {label}: {leftover}"
                    assert self.report.runs and serving_version(self.home) is not None
            self.report.rows_compared += case.rows_compared
            self.report.rows_lost += case.rows_lost
            self.report.rows_duplicated += case.rows_duplicated

    def _one(self, plan: KillPlan | None) -> RunOutcome:
        index = self.report.runs + 1
        before = serving_version(self.home)
        run = self.worker.run(self.home, self.as_of, plan)
        self.report.runs += 1
        if run.killed:
            label = f"run {index} (killed: {run.stage} / {plan.describe() if plan else '?'})"
        else:
            label = f"run {index} (completed)"
            assert run.success, f"{label} failed instead of recovering: {run.failures}"
        self._check_always(run, label, raw_too=not run.ingested, before=before)
        after = serving_version(self.home)
        if after != before:  # the swap is the only way the served version changes: a newer, published one
            assert after is not None and (before is None or after[1] > before[1]), f"{label}: served {before}->{after}"
        kill = None
        if run.killed:
            self.report.kills.append((run.stage or "?", plan.describe() if plan else "?"))
            kill = Pending(plan or KillPlan("?"), run, len(self.report.kills))
            if kill.stage == "checks":  # a read-only step: its own (ingested) run is what must be intact
                self.pending.append(kill)
        self._settle(run, label)
        if kill is not None and kill.stage != "checks":
            self.pending.append(kill)
        if run.ingested:  # the next round's merge kill resumes from a state like this run's: sample within it
            self.commit_budget = max(1, run.commits)
        for step, took in run.durations().items():
            self.seconds[step] = min(self.seconds.get(step, took), took)
        self.say(f"  {label}: {run.seconds:.1f}s, {run.commits} raw commits"
                 + (f", landed in {run.landed_step}" if run.killed else ""))
        return run

    def _round(self, shape: Any) -> None:
        assert not self.pending, "a round starts with every earlier kill settled"
        start_from(self.home, self.ref.baseline)  # yesterday's raw layer: tonight's ingestion moves real data
        for slot in shape:
            self._one(self._plan(slot))
        if shape is not SHORT_ROUND and shape[-1] == "publish":
            self._one(None)

    def run(self, kills: int) -> CampaignReport:
        started = time.monotonic()
        for shape in plan_rounds(kills, self.rng):
            self._round(shape)
        # a planned kill can miss (the night got past that point on its own): top up until `kills` have landed
        for _ in range(kills):
            if len(self.report.kills) >= kills:
                break
            if self.pending:
                self._one(None)
            self._round(SHORT_ROUND)
        if self.pending:
            self._one(None)
        self.report.seconds = time.monotonic() - started
        assert not self.pending, f"kills never settled: {[p.plan.describe() for p in self.pending]}"
        assert orphans(self.home) == [], f"orphans after the final completed night: {orphans(self.home)}"
        return self.report
