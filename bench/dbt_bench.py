"""dbt benchmark: `dbt build` (every model, seed and test) over a landed simulator dataset.

    uv run python bench/dbt_bench.py --scale large --reps 3            # lands `large` first (~10 min), then builds
    uv run python bench/dbt_bench.py --raw /tmp/large_raw.duckdb        # reuse a landed raw warehouse
    uv run python bench/dbt_bench.py --raw R --keep-raw R               # (with --scale) keep the landed file

The raw warehouse is landed once through the real connectors (connectors.simulator.land); each repetition copies
it to a fresh file and runs `dbt build` in a subprocess, exactly as the Dagster asset does. Reported: wall time per
repetition (median), dbt's own elapsed time, the slowest nodes of the median run, the dbt process's peak RSS
(ru_maxrss of children), and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.dbt import dbt_build  # noqa: E402  (after the sys.path line: run as a script)


def land(scale: str, seed: int, as_of: date, out: Path) -> None:
    from connectors.simulator.dataset.generate import generate
    from connectors.simulator.land import ingest

    started = time.perf_counter()
    ingest(generate(scale, seed=seed, as_of=as_of), out, verbose=True)
    print(f"landed {scale} in {time.perf_counter() - started:.1f} s -> {out}", file=sys.stderr)


def build_once(raw: Path, workdir: Path, as_of: date) -> dict:
    """A fresh copy of the landed raw warehouse, then `dbt build` on it (bench.dbt)."""
    db = workdir / "working.duckdb"
    shutil.copy(raw, db)
    try:
        return dbt_build(db, as_of, workdir / "target")
    finally:
        db.unlink(missing_ok=True)


def machine() -> str:
    cpus = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return f"{platform.machine()}, {cpus} cores, {mem:.0f} GiB, Python {platform.python_version()}, load {load:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--raw", type=Path, help="a landed raw warehouse to reuse (skips landing)")
    parser.add_argument("--keep-raw", type=Path, help="where to keep the raw warehouse landed by this run")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dbt-bench-") as tmp:
        workdir = Path(tmp)
        raw = args.raw
        if raw is None or not raw.exists():
            raw = args.keep_raw or raw or workdir / "raw.duckdb"
            land(args.scale, args.seed, args.as_of, raw)
        runs = []
        for rep in range(args.reps):
            run = build_once(raw, workdir, args.as_of)
            runs.append(run)
            print(f"rep {rep + 1}: {run['wall_s']:.1f} s wall, dbt {run['dbt_elapsed_s']:.1f} s, "
                  f"{run['nodes']} nodes", file=sys.stderr)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    median = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    print(f"\n## dbt build on `{args.scale}` ({raw.name}, as of {args.as_of})\n")
    print("| run | wall (s) | dbt elapsed (s) | nodes |\n|---|---|---|---|")
    for i, r in enumerate(runs, 1):
        print(f"| {i} | {r['wall_s']:.1f} | {r['dbt_elapsed_s']:.1f} | {r['nodes']} |")
    print(f"| **median** | **{statistics.median(r['wall_s'] for r in runs):.1f}** | "
          f"{statistics.median(r['dbt_elapsed_s'] for r in runs):.1f} | |")
    print(f"\nPeak RSS of dbt: {peak_mib:,.0f} MiB. Machine: {machine()}.\n")
    print("Slowest nodes of the median run: " + ", ".join(f"{n} {t:.1f} s" for n, t in median["slowest"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
