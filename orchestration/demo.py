"""``acctwh demo``: the whole pipeline on the bundled CRM simulator, through Dagster, in one process.

Generate (or load) a dataset, serve it as Salesforce + HubSpot APIs, run ``nightly_refresh_job`` (ingest with the
real clients -> dbt build -> quality gate -> publish) and summarise the published marts. With ``--days N`` the
simulated CRMs then move on one day at a time and each night refreshes incrementally.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from connectors.simulator.dataset.store import Dataset

DEMO_PERSON_KEY = "acctwh-demo-person-key-not-a-secret"  # synthetic people only; real runs must set their own
# Simulator logins: a variable set in the environment wins, so tests can run the demo with recognisable fake secrets
# on the real credential path (the simulator then accepts exactly these values).
DEMO_CREDENTIALS = {
    "SALESFORCE_USERNAME": "integration@demo.example",
    "SALESFORCE_PASSWORD": "demo-password",
    "SALESFORCE_SECURITY_TOKEN": "demo-token",
    "SALESFORCE_CONSUMER_KEY": "",
    "SALESFORCE_CONSUMER_SECRET": "",
    "HUBSPOT_ACCESS_TOKEN": "pat-demo",
}
TOP_ACCOUNTS = 5
STEP_EVENTS = {"STEP_START": "started", "STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED"}


_console = sys.stdout  # the terminal; dbt's raw log lines are redirected to a log file during a run


def _say(text: str = "") -> None:
    print(text, file=_console, flush=True)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _StepProgress(logging.Handler):
    """Prints one line per step start/finish (the Dagster console log is silenced in the demo)."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        kind = getattr(event, "event_type_value", None)
        if kind not in STEP_EVENTS:
            return
        step = event.step_key
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            _say(f"    {step:<28} started")
        else:
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            _say(f"    {step:<28} {STEP_EVENTS[kind]} in {took:.1f}s")


@dg.logger
def _progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("acctwh.demo.steps")
    logger.setLevel(logging.DEBUG)
    logger.handlers = [_StepProgress()]
    logger.propagate = False
    return logger


def _load_job() -> dg.JobDefinition:
    from orchestration.definitions import defs

    return defs().resolve_job_def("nightly_refresh_job")


def _run_night(job: dg.JobDefinition, instance: dg.DagsterInstance, as_of: date,
               log_path: Path) -> dg.ExecuteInProcessResult:
    """One nightly run; step progress on the terminal, dbt's own output (dagster-dbt echoes it) in ``log_path``."""
    progress_job = job.with_logger_defs({"progress": _progress_logger, "console": dg.colored_console_logger})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log, redirect_stdout(log):
        return progress_job.execute_in_process(
            run_config={
                "ops": {"account_dbt_models": {"config": {"as_of_date": as_of.isoformat()}}},
                "loggers": {"progress": {}, "console": {"config": {"log_level": "CRITICAL"}}},
            },
            instance=instance,
            raise_on_error=False,
        )


def _failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = [f"    check {e.asset_key.to_user_string()} {e.check_name}: {e.description}"
             for e in result.get_asset_check_evaluations()
             if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            lines.append(f"    step {event.step_key}: {error.message.strip().splitlines()[0] if error else 'failed'}")
    return lines


def _ingested(result: dg.ExecuteInProcessResult) -> list[str]:
    rows = []
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        key = mat.asset_key.path
        if key[0] not in ("salesforce", "hubspot") or "rows_inserted" not in mat.metadata:
            continue
        ins, upd, dele = (mat.metadata[k].value for k in ("rows_inserted", "rows_updated", "rows_deleted"))
        if ins or upd or dele:
            rows.append((f"{key[0]}/{key[1]}", ins, upd, dele))
    if not rows:
        return ["    (no source changes)"]
    width = max(len(r[0]) for r in rows)
    out = [f"    {'raw table':<{width}}  {'inserted':>9}  {'updated':>9}  {'deleted':>8}"]
    out += [f"    {name:<{width}}  {i:>9,}  {u:>9,}  {d:>8,}" for name, i, u, d in sorted(rows)]
    total = sum(r[1] + r[2] + r[3] for r in rows)
    out.append(f"    {len(rows)} tables changed, {total:,} rows")
    return out


def _summary(serving: Path) -> dict[str, Any]:
    """Headline figures from the published serving file (read-only, closed before the next publish)."""
    with duckdb.connect(str(serving), read_only=True) as con:
        version, counts = con.execute("select version, row_counts from _publication").fetchone()
        arr_row = con.execute(
            "select max(month), sum(arr), count(*) filter (where arr > 0) from fct_account_arr_monthly "
            "where is_as_of_month"
        ).fetchone()
        retention = con.execute(
            "select month, nrr, grr, cohort_accounts from fct_revenue_retention_monthly "
            "where segment_type = 'all' and nrr is not null order by month desc limit 1"
        ).fetchone()
        top = con.execute(
            f"select account_name, current_arr, tier, role_coverage_ratio, health_status from mart_account_360 "
            f"order by current_arr desc, account_name limit {TOP_ACCOUNTS}"
        ).fetchall()
        movements = con.execute(
            "select movement, count(*), sum(new_arr + expansion_arr + contraction_arr + churned_arr "
            "+ reactivation_arr) from fct_account_arr_monthly where is_as_of_month group by movement order by 1"
        ).fetchall()
    return {"version": version, "counts": dict(counts), "arr": arr_row, "retention": retention, "top": top,
            "movements": movements}


def _print_summary(s: dict[str, Any], home: Path) -> None:
    month, arr, customers = s["arr"]
    _say(f"\n  Published version {s['version']}:")
    _say("    " + ", ".join(f"{mart} {n:,}" for mart, n in sorted(s["counts"].items())) + " rows")
    _say(f"    ARR {month:%Y-%m}: ${arr or 0:,.2f} across {customers:,} customers")
    if s["retention"]:
        r_month, nrr, grr, cohort = s["retention"]
        _say(f"    NRR {nrr:.1%}  GRR {grr:.1%}  (trailing 12 months to {r_month:%Y-%m}, cohort of {cohort:,})")
    _say("    movements this month: " + ", ".join(f"{m} {n} (${a:,.0f})" for m, n, a in s["movements"]))
    _say(f"    top {TOP_ACCOUNTS} accounts by ARR:")
    for name, arr_value, tier, coverage, health in s["top"]:
        _say(f"      {name[:34]:<34} ${arr_value:>13,.2f}  tier {tier}  coverage {coverage:.0%}  {health}")
    _say(f"    serving file  {home / 'serving' / 'marts.duckdb'}")
    _say(f"    parquet       {home / 'serving' / 'parquet'}/<mart>.parquet")
    _say(f"    report        {home / 'serving' / 'reports' / 'latest.html'}")


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):  # `make demo` / `make dev` share .dagster_home, so the UI shows the runs
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _load_dataset(scale: str | None, dataset_dir: Path | None, seed: int, as_of: date | None, home: Path) -> Dataset:
    from connectors.simulator.dataset.folder import load, save
    from connectors.simulator.dataset.generate import generate

    if dataset_dir is not None:
        _say(f"Loading dataset {dataset_dir} ...")
        dataset = load(dataset_dir, progress=True)
        if as_of is not None:  # the folder's records are read as of this date (00:00 UTC)
            dataset.clock = datetime.combine(as_of, datetime.min.time(), UTC)
        return dataset
    scale = scale or "demo"
    _say(f"Generating the {scale} dataset (seed {seed}) ...")
    dataset = generate(scale, seed=seed, as_of=as_of, progress=True)
    out = save(dataset, home / "simulator" / f"{scale}-seed{seed}", overwrite=True, progress=True)
    _say(f"  saved to {out}")
    return dataset


def _simulator_settings(credentials: dict[str, str]) -> Any:
    """Relaxed HubSpot limits; logins must present exactly the demo's credentials (as a real org would check)."""
    from connectors.simulator.land import fast_settings

    settings = fast_settings()
    sf, hs = settings.salesforce, settings.hubspot
    sf.require_credentials = hs.require_credentials = True
    sf.username, sf.password = credentials["SALESFORCE_USERNAME"], credentials["SALESFORCE_PASSWORD"]
    sf.security_token = credentials["SALESFORCE_SECURITY_TOKEN"] or None
    sf.consumer_key = credentials["SALESFORCE_CONSUMER_KEY"] or None
    sf.consumer_secret = credentials["SALESFORCE_CONSUMER_SECRET"] or None
    hs.access_token = credentials["HUBSPOT_ACCESS_TOKEN"]
    return settings


def run_demo(*, scale: str | None, dataset_dir: Path | None, seed: int, as_of: date | None, home: Path,
             days: int) -> int:
    global _console
    _console = sys.stdout
    for name in ("dagster", "dagster.builtin"):  # step progress is printed by _StepProgress instead
        logging.getLogger(name).setLevel(logging.WARNING)
    from connectors.simulator.server.simulator import CrmSimulator

    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dataset = _load_dataset(scale, dataset_dir, seed, as_of, home)
    _say(f"  ready in {time.perf_counter() - started:.1f}s; simulated clock {dataset.clock:%Y-%m-%d %H:%M} UTC")
    secret = os.environ.get("ACCTWH_PERSON_KEY_SECRET")
    if not secret:
        _say("  ACCTWH_PERSON_KEY_SECRET is not set: using a fixed demo key (fine for synthetic people only)")

    failures = 0
    # HubSpot rate limits are relaxed so the demo takes minutes, not the hours a real portal's budget would;
    # the simulator checks logins against the credentials chosen here
    credentials = {name: os.environ.get(name) or default for name, default in DEMO_CREDENTIALS.items()}
    with CrmSimulator(dataset, settings=_simulator_settings(credentials)) as sim:
        env = {
            **{name: value for name, value in credentials.items() if value},
            "ACCTWH_HOME": str(home),
            "SALESFORCE_URL": sim.salesforce_url,
            "HUBSPOT_URL": sim.hubspot_url,
            "ACCTWH_PERSON_KEY_SECRET": secret or DEMO_PERSON_KEY,
            "ACCTWH_REFERENCE_TIME": sim.now().isoformat(),
        }
        with _environment(env):
            _say(f"\nSimulator up: Salesforce {sim.salesforce_url}  HubSpot {sim.hubspot_url}")
            job = _load_job()
            instance = _instance()
            for night in range(days + 1):
                if night:
                    from connectors.simulator.dataset.advance import advance

                    summary = advance(dataset, days=1)
                    changes = sum(n for per_kind in summary.values() for n in per_kind.values())
                    os.environ["ACCTWH_REFERENCE_TIME"] = sim.now().isoformat()
                    _say(f"\nDay {night}: the CRMs moved to {dataset.clock:%Y-%m-%d} with {changes:,} changes")
                label = "Initial load" if night == 0 else f"Night {night} (incremental)"
                as_of_day = dataset.clock.date()
                _say(f"\n{label}: nightly_refresh_job as of {as_of_day} (ingest -> dbt -> checks -> publish)")
                t0 = time.perf_counter()
                log_path = home / "logs" / f"demo-night-{night}.log"
                result = _run_night(job, instance, as_of_day, log_path)
                _say(f"  run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} "
                     f"in {time.perf_counter() - t0:.1f}s (dbt output: {log_path})")
                if not result.success:
                    failures += 1
                    _say("\n".join(_failure_lines(result)))
                    break
                _say("  source changes landed:")
                _say("\n".join(_ingested(result)))
                _print_summary(_summary(home / "serving" / "marts.duckdb"), home)
    _say(f"\nDone in {time.perf_counter() - started:.1f}s. "
         + ("BI tools can open the serving file read-only now." if not failures else "The refresh failed."))
    _say("`make dev` opens the Dagster UI on the same setup; `acctwh rollback --list` shows published versions.")
    return 0 if not failures else 1
