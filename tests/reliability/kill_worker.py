"""The victim side of the kill harness: a pre-loaded Dagster process that forks one child per nightly run.

Run as ``python -m tests.reliability.kill_worker`` with the connector environment set (``SALESFORCE_*``,
``HUBSPOT_*``, ``ACCTWH_HOME``, ``ACCTWH_PERSON_KEY_SECRET``, ``ACCTWH_REFERENCE_TIME``). It imports Dagster and
loads the code location once (seconds), then reads one JSON request per line on stdin and forks a child that runs
the real ``nightly_refresh_job`` with ``execute_in_process``. Forking is what makes hundreds of kills affordable:
a child starts in milliseconds instead of re-importing Dagster, dbt's manifest and GX.

Every child calls ``setsid()``, so its process group holds the run and the ``dbt`` subprocess it starts; the
parent SIGKILLs the whole group (a crashed machine or an OOM-killed container: nothing of the run survives).

Protocol (one JSON object per line on stdout, written with a single ``write`` so lines never interleave):
``ready`` once; per request ``pid``, then the child's ``step`` (start/success/failure), ``commit`` (every
committed raw-layer transaction), ``seam`` (a self-kill point reached), ``result``; finally ``exit``.

Request fields: ``home``, ``as_of`` (YYYY-MM-DD), ``log`` (file for the child's own output), ``kill_commit``
(SIGKILL inside that raw transaction, after its writes, before COMMIT: a crash mid-merge) and
``kill_publish`` (a point inside the publish step, see :data:`PUBLISH_POINTS`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Self-kill points inside ``published_marts`` (connectors.warehouse.serving.publish):
PUBLISH_POINTS = (
    "building",  # the first Parquet file of the new version is being written (staging folder half full)
    "staged",  # the version folder is complete, nothing swapped yet
    "between_swaps",  # marts.duckdb already points at the new version, the parquet link not yet
    "installed",  # both swapped, old versions not pruned yet
)

_EVENTS_FD = 1


def emit(**event: Any) -> None:
    os.write(_EVENTS_FD, (json.dumps(event, default=str) + "\n").encode())


def die(where: str) -> None:
    emit(event="seam", where=where, t=time.monotonic())
    os.killpg(0, signal.SIGKILL)


def _trace_commits(kill_commit: int | None) -> None:
    """Report every committed raw-layer transaction; SIGKILL inside the ``kill_commit``-th one before COMMIT."""
    from connectors.warehouse.raw import RawWarehouse

    original = RawWarehouse._transaction
    count = {"n": 0}

    @contextmanager
    def traced(self: RawWarehouse, operation: str) -> Iterator[None]:
        counted = operation != "bootstrap"  # the bootstrap DDL of every open is not ingestion work
        with original(self, operation):
            yield
            if counted and kill_commit is not None and count["n"] + 1 == kill_commit:
                die(f"merge commit {kill_commit} ({operation})")
        if counted:
            count["n"] += 1
            emit(event="commit", n=count["n"], op=operation, t=time.monotonic())

    RawWarehouse._transaction = traced  # type: ignore[method-assign]


def _open_hubspot_pacing() -> None:
    """The simulator runs without rate limits: open the client-side HubSpot pacing up (as tests/orchestration do)."""
    from connectors.hubspot.config import HubSpotConfig

    original = HubSpotConfig.from_env.__func__  # type: ignore[attr-defined]

    def from_env(cls: type[HubSpotConfig], env: Any = None, **knobs: Any) -> HubSpotConfig:
        return original(cls, env, **{**knobs, "general_per_10s": 100_000, "search_per_second": 1_000})

    HubSpotConfig.from_env = classmethod(from_env)  # type: ignore[method-assign, assignment]


def _arm_publish(point: str | None) -> None:
    if point is None:
        return
    if point not in PUBLISH_POINTS:
        raise ValueError(f"unknown publish kill point {point!r}; use one of {PUBLISH_POINTS}")
    import connectors.warehouse.serving as serving
    import connectors.warehouse.versions as versions

    def wrap(module: Any, name: str, before: Callable[..., None] | None = None,
             after: Callable[..., None] | None = None) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if before:
                before(*args, **kwargs)
            out = original(*args, **kwargs)
            if after:
                after(*args, **kwargs)
            return out

        setattr(module, name, wrapper)

    if point == "building":
        wrap(serving, "_write_parquet", before=lambda *a, **k: die("publish building"))
    elif point == "staged":
        wrap(serving, "install", before=lambda *a, **k: die("publish staged"))
    elif point == "installed":
        wrap(serving, "install", after=lambda *a, **k: die("publish installed"))
    else:  # the second os.replace of install() is the parquet link
        real_replace = os.replace

        def replace(src: Any, dst: Any, *a: Any, **k: Any) -> None:
            if Path(dst).name == versions.PARQUET_LINK:
                die("publish between_swaps")
            real_replace(src, dst, *a, **k)

        versions.os.replace = replace  # type: ignore[assignment]  # the child process is single-purpose


class _StepEvents(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        kind = getattr(event, "event_type_value", None)
        if kind in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
            emit(event="step", kind=kind, step=event.step_key, t=time.monotonic())


def _step_logger_def() -> Any:
    import dagster as dg

    @dg.logger
    def step_events(_: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.getLogger("acctwh.kill_worker")
        logger.setLevel(logging.DEBUG)
        logger.handlers = [_StepEvents()]
        logger.propagate = False
        return logger

    return step_events


def _child(job: Any, request: dict[str, Any]) -> None:
    import dagster as dg

    os.setsid()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ["ACCTWH_HOME"] = request["home"]
    os.environ["DBT_TARGET_PATH"] = request["dbt_target"]  # dagster-dbt's per-run target folders go here
    _open_hubspot_pacing()
    _trace_commits(request.get("kill_commit"))
    _arm_publish(request.get("kill_publish"))
    logged = job.with_logger_defs({"steps": _step_logger_def(), "console": dg.colored_console_logger})
    result = logged.execute_in_process(
        run_config={"ops": {"account_dbt_models": {"config": {"as_of_date": request["as_of"]}}},
                    "loggers": {"steps": {}, "console": {"config": {"log_level": "WARNING"}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    failures = [f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0]}"
                for e in result.all_events
                if e.event_type_value == "STEP_FAILURE" and e.event_specific_data.error is not None]
    emit(event="result", success=result.success, failures=failures, t=time.monotonic())


def main() -> int:
    global _EVENTS_FD
    _EVENTS_FD = os.dup(1)
    os.dup2(2, 1)  # stray prints go to stderr, never into the event stream
    started = time.monotonic()
    logging.getLogger("dagster").setLevel(logging.WARNING)
    from orchestration.definitions import defs

    job = defs().resolve_job_def("nightly_refresh_job")
    import connectors.warehouse.raw
    import connectors.warehouse.serving  # noqa: F401 - imported before forking, like the rest

    emit(event="ready", load_s=round(time.monotonic() - started, 2))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(job, request)
            except BaseException as exc:
                emit(event="result", success=False, failures=[f"child: {type(exc).__name__}: {exc}"])
                code = 1
            os._exit(code)
        emit(event="pid", pid=pid)
        _, status = os.waitpid(pid, 0)
        emit(event="exit", status=status, signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
             code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
