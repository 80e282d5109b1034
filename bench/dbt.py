"""`dbt build` (every model, seed and test) on a DuckDB file, in a subprocess exactly as the Dagster asset runs it.

Returns the wall time, dbt's own elapsed time, the node count, the slowest nodes and dbt's peak RSS; node-level
progress is parsed from dbt's log lines ("12 of 95 OK created ...") for a progress bar.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.proc import ROOT, reap

DBT_DIR = ROOT / "dbt_project"
SECRET = "benchmark-person-key-secret-0123456789"
NODE_DONE = re.compile(r"\b(\d+) of (\d+) (OK|PASS|ERROR|FAIL|WARN|SKIP)\b")


class DbtFailed(RuntimeError):
    pass


def dbt_build(db: Path, as_of: date, target: Path,
              on_node: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """One `dbt build` writing ``db``; ``on_node(done, total)`` after each node."""
    env = {**os.environ, "ACCTWH_DUCKDB_PATH": str(db), "ACCTWH_PERSON_KEY_SECRET": SECRET,
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(DBT_DIR),
           "--profiles-dir", str(DBT_DIR), "--target-path", str(target), "--log-path", str(target / "logs"),
           "--vars", json.dumps({"as_of_date": as_of.isoformat()})]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    done = 0
    for line in proc.stdout:  # type: ignore[union-attr]
        tail = [*tail[-60:], line]
        match = NODE_DONE.search(line)
        if match and on_node is not None:
            done += 1
            on_node(done, int(match.group(2)))
    peak_rss_mib = reap(proc)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write("".join(tail))
        raise DbtFailed(f"dbt build failed (exit {proc.returncode})")
    results = json.loads((target / "run_results.json").read_text())
    nodes = sorted(results["results"], key=lambda r: -r["execution_time"])
    return {"wall_s": wall, "dbt_elapsed_s": results["elapsed_time"], "nodes": len(nodes),
            "peak_rss_mib": peak_rss_mib,
            "slowest": [(r["unique_id"].split(".")[-1], round(r["execution_time"], 3)) for r in nodes[:8]]}
