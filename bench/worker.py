"""Stages that run in a child process of the benchmark, so each one's peak RSS is its own.

    python -m bench.worker '{"kind": "checks" | "publish" | "nightly", ...}'

``checks``: the GX suites over the working file (as ``gx_mart_suites`` runs them). ``publish``: the serving file and
Parquet swap. ``nightly``: ``nightly_refresh_job`` through Dagster in-process, ingest -> dbt -> checks -> publish,
timed as one figure (loading the code location is timed apart: a schedule's run worker pays it too).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bench.dbt import SECRET
from bench.proc import emit, event_channel

# the bench raises HubSpot's client-side pacing as the simulator does not enforce limits (see bench.simulator)
BENCH_HUBSPOT_PACING = {"general_per_10s": 1_000_000, "search_per_second": 100_000}


def checks(payload: dict[str, Any], channel: TextIO) -> None:
    from expectations.runner import validate_all

    published = Path(payload["published"]) if payload.get("published") else None
    started = time.perf_counter()
    results = validate_all(Path(payload["db"]), published_path=published if published and published.exists() else None,
                           reference_time=datetime.fromisoformat(payload["reference_time"]))
    seconds = time.perf_counter() - started
    emit(channel, event="done", seconds=seconds, suites=len(results),
         expectations=sum(len(r.outcomes) for r in results.values()),
         failed=[f"{m}: {r.summary()}" for m, r in results.items() if not r.success])


def publish(payload: dict[str, Any], channel: TextIO) -> None:
    from connectors.warehouse.serving import publish as publish_marts
    from expectations.registry import MARTS

    started = time.perf_counter()
    result = publish_marts(Path(payload["db"]), payload["home"], list(MARTS), metadata={"source": "bench"})
    emit(channel, event="done", seconds=time.perf_counter() - started, version=result.version,
         rows=sum(result.row_counts.values()), duckdb_mib=result.duckdb_bytes / 2**20,
         parquet_mib=result.parquet_bytes / 2**20)


def nightly(payload: dict[str, Any], channel: TextIO) -> None:
    import dagster as dg

    home = Path(payload["home"])
    os.environ.update({
        "ACCTWH_HOME": str(home),
        "SALESFORCE_URL": payload["urls"]["salesforce"], "SALESFORCE_USERNAME": "etl@bench.example",
        "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok",
        "HUBSPOT_URL": payload["urls"]["hubspot"], "HUBSPOT_ACCESS_TOKEN": "pat-bench",
        "ACCTWH_PERSON_KEY_SECRET": SECRET, "ACCTWH_REFERENCE_TIME": payload["reference_time"],
    })
    for name in ("dagster", "dagster.builtin"):
        logging.getLogger(name).setLevel(logging.WARNING)
    loaded_at = time.perf_counter()
    from orchestration.definitions import defs
    from orchestration.defs.resources import HubSpotResource

    job = defs().resolve_job_def("nightly_refresh_job")
    load_s = time.perf_counter() - loaded_at
    steps: dict[str, float] = {}

    class StepTimes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
            kind = getattr(event, "event_type_value", None)
            if kind == "STEP_START":
                steps[event.step_key] = time.perf_counter()
                emit_event(event="step", step=event.step_key, status="started")
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                steps[event.step_key] = time.perf_counter() - steps.get(event.step_key, time.perf_counter())
                emit_event(event="step", step=event.step_key, status=kind.split("_")[1].lower())

    def emit_event(**event: Any) -> None:
        emit(channel, **event)

    @dg.logger
    def step_logger(_: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.getLogger("acctwh.bench.steps")
        logger.setLevel(logging.DEBUG)
        logger.handlers = [StepTimes()]
        logger.propagate = False
        return logger

    timed_job = job.with_logger_defs({"steps": step_logger, "console": dg.colored_console_logger})
    hubspot = HubSpotResource(access_token="pat-bench", url=payload["urls"]["hubspot"], **BENCH_HUBSPOT_PACING)
    log_path = home / "logs" / f"bench-nightly-{payload['as_of']}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("a", encoding="utf-8") as log, redirect_stdout(log):  # dbt's echoed output
        result = timed_job.execute_in_process(
            run_config={"ops": {"account_dbt_models": {"config": {"as_of_date": payload["as_of"]}}},
                        "loggers": {"steps": {}, "console": {"config": {"log_level": "CRITICAL"}}}},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False, resources={"hubspot": hubspot})
    seconds = time.perf_counter() - started
    calls: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        source = mat.asset_key.path[0]
        if source in ("salesforce", "hubspot") and "api_calls" in mat.metadata:
            calls[source] = calls.get(source, 0) + int(mat.metadata["api_calls"].value or 0)
    failed = [e.check_name + " " + e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()
              if not e.passed]
    emit(channel, event="done", seconds=seconds, load_defs_s=load_s, success=result.success, steps=steps,
         api_calls=calls, failed_checks=failed, log=str(log_path))


KINDS = {"checks": checks, "publish": publish, "nightly": nightly}


def main(payload: dict[str, Any]) -> int:
    channel = event_channel()
    KINDS[payload["kind"]](payload, channel)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
