"""The CRM simulator in its own process, driven over stdin/stdout, so the ingesting process is measured alone.

    python -m bench.simulator '{"scale": "small", "seed": 42, "as_of": "2026-06-30"}'   (or "dataset": DIR)

It generates (timed here: the "dataset generation" stage) or loads the dataset, serves it with rate limits off,
then answers one-line commands: ``advance N``, ``save DIR``, ``counters``, ``quit``. HubSpot rate limits are
disabled and Salesforce's daily budget raised: a real portal allows 100-190 requests per 10 s, so a real sync of
the same volume is bounded by the API budget, not by this code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.proc import emit, event_channel, reap, spawn


def serve(payload: dict[str, Any]) -> int:
    from connectors.simulator.dataset.advance import advance
    from connectors.simulator.dataset.folder import load, save
    from connectors.simulator.dataset.generate import generate
    from connectors.simulator.server.settings import SimulatorSettings
    from connectors.simulator.server.simulator import CrmSimulator

    channel = event_channel()
    progress = bool(payload.get("progress"))
    started = time.perf_counter()
    if payload.get("dataset"):
        dataset = load(Path(payload["dataset"]), progress=progress)
    else:
        as_of = date.fromisoformat(payload["as_of"]) if payload.get("as_of") else None
        dataset = generate(payload["scale"], seed=int(payload.get("seed", 42)), as_of=as_of, progress=progress)
    generate_s = time.perf_counter() - started
    settings = SimulatorSettings.default()
    settings.hubspot.enforce_rate_limits = False
    settings.salesforce.daily_api_max = 10_000_000
    settings.salesforce.bulk_job_polls_before_complete = 0
    settings.hubspot.daily_max = 100_000_000
    prof = _profile_handlers() if os.environ.get("BENCH_SERVER_PROFILE") else None
    with CrmSimulator(dataset, settings=settings) as sim:
        emit(channel, salesforce=sim.salesforce_url, hubspot=sim.hubspot_url, generate_s=generate_s,
             clock=dataset.clock.isoformat(), records=source_records(dataset))
        for line in sys.stdin:
            cmd = line.split()
            if not cmd or cmd[0] == "quit":
                break
            if cmd[0] == "advance":
                t0 = time.perf_counter()
                summary = advance(dataset, days=int(cmd[1]))
                emit(channel, advanced=summary, seconds=time.perf_counter() - t0, clock=dataset.clock.isoformat(),
                     changes=sum(n for per_kind in summary.values() for n in per_kind.values()))
            elif cmd[0] == "save":
                t0 = time.perf_counter()
                save(dataset, Path(cmd[1]), overwrite=True, progress=progress)
                emit(channel, saved=cmd[1], seconds=time.perf_counter() - t0)
            elif cmd[0] == "counters":
                emit(channel, **sim.counters())
    if prof is not None:
        prof.dump_stats(os.environ["BENCH_SERVER_PROFILE"])
    return 0


def source_records(dataset: Any) -> dict[str, int]:
    """Records per source object (associations not included)."""
    counts = {f"salesforce/{obj}": dataset.count(dataset.sf_table(obj)) for obj in dataset.sf_objects()}
    counts.update({f"hubspot/{t}": dataset.count(dataset.hs_table(t)) for t in dataset.hs_object_types()})
    return counts


def _profile_handlers() -> Any:
    """Profile request handling (all handler threads, serialised) into $BENCH_SERVER_PROFILE."""
    import cProfile
    import threading

    from connectors.simulator.server.http import ApiServer

    prof, lock, handle = cProfile.Profile(), threading.Lock(), ApiServer.handle

    def profiled(self: Any, request: Any) -> Any:
        with lock:
            return prof.runcall(handle, self, request)

    ApiServer.handle = profiled  # type: ignore[method-assign]
    return prof


class Simulator:
    """Client side: start the process, wait for its URLs, send commands."""

    def __init__(self, scale: str, dataset: str | None = None, seed: int = 42, as_of: date | None = None,
                 progress: bool = False) -> None:
        payload = {"scale": scale, "dataset": dataset, "seed": seed, "progress": progress,
                   "as_of": as_of.isoformat() if as_of else None}
        self.proc: subprocess.Popen[str] = spawn("bench.simulator", payload, stdin=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            reap(self.proc)
            raise RuntimeError("simulator process failed to start")
        self.ready: dict[str, Any] = json.loads(line)
        self.urls = {"salesforce": self.ready["salesforce"], "hubspot": self.ready["hubspot"]}

    def command(self, text: str) -> Any:
        self.proc.stdin.write(text + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def close(self) -> float:
        """Stop the process; return its peak RSS in MiB."""
        if self.proc.returncode is not None:
            return 0.0
        try:
            self.proc.stdin.write("quit\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            self.proc.kill()
        return reap(self.proc)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    sys.exit(serve(json.loads(sys.argv[1])))
