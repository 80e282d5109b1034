"""Ingestion benchmark: Salesforce + HubSpot simulator -> DuckDB raw tables.

`acctwh bench` (bench/run.py) measures every stage; this script is the ingestion-only view, in-process.

    uv run python bench/ingest_bench.py                      # demo scale, full sync, 1 repetition
    uv run python bench/ingest_bench.py --scale large --reps 3
    uv run python bench/ingest_bench.py --dataset DIR        # a folder from `acctwh simulator generate`
    uv run python bench/ingest_bench.py --incremental        # full sync, advance(days=1), timed incremental
    uv run python bench/ingest_bench.py --profile x.prof     # cProfile per source thread: x.prof.<source>

The simulator runs in a separate process (``bench.simulator``) so the ingesting process's peak
RSS (``ru_maxrss``) and CPU are measured on their own. Salesforce and HubSpot sync concurrently, one thread
each, into one RawWarehouse (its lock serialises the single DuckDB connection). Each repetition syncs into
a fresh DuckDB file. HubSpot rate limits are disabled in the simulator and the connector's token buckets are
raised: a real portal allows 100-190 requests per 10 s (and 4-5 searches/s), so a real HubSpot sync of the
same volume is far slower and bounded by the API budget, not by this code.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.ingest import ingest  # noqa: E402  (after the sys.path line: run as a script)
from bench.simulator import Simulator  # noqa: E402


def _progress(row: dict[str, Any]) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  .. {row['source']} {row['object']}: {row['records']:,} in {row['seconds']:.1f}s "
          f"({row['status']}, peak RSS so far {rss:,.0f} MiB)", file=sys.stderr, flush=True)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"nproc {os.cpu_count()}, CPU {cpu}, RAM {ram:.1f} GiB, Python {platform.python_version()}"


def print_table(rows: list[dict[str, Any]], wall: float) -> None:
    header = f"{'source':<10} {'object':<24} {'status':<8} {'records':>10} {'seconds':>8} {'rec/s':>9} " \
             f"{'calls':>7} path"
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = r["records"] / r["seconds"] if r["seconds"] else 0.0
        print(f"{r['source']:<10} {r['object']:<24} {r['status']:<8} {r['records']:>10,} {r['seconds']:>8.2f} "
              f"{rate:>9,.0f} {r['calls']:>7,} {r['path']}")
    total = sum(r["records"] for r in rows)
    print(f"{'total':<10} {'':<24} {'':<8} {total:>10,} {wall:>8.2f} {total / wall if wall else 0:>9,.0f} "
          f"{sum(r['calls'] for r in rows):>7,}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", default="demo")
    p.add_argument("--dataset", help="a dataset folder instead of generating --scale")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--incremental", action="store_true", help="time an incremental sync of one simulated day")
    p.add_argument("--source", choices=("salesforce", "hubspot"), help="one source (default both)")
    p.add_argument("--profile", help="write cProfiles of the (last) timed ingest here (.salesforce, .hubspot)")
    args = p.parse_args(argv)

    sources = [args.source] if args.source else ["salesforce", "hubspot"]
    print(machine())
    t0 = time.perf_counter()
    sim = Simulator(args.scale, args.dataset, args.seed)
    print(f"simulator ready in {time.perf_counter() - t0:.1f}s ({args.dataset or 'scale ' + args.scale})")
    walls: list[float] = []
    tables: list[list[dict[str, Any]]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ingest_bench_") as tmp:
            for rep in range(args.reps):
                db = Path(tmp) / f"rep{rep}.duckdb"
                if args.incremental:
                    ingest(sim.urls, db, True, sources)  # untimed initial load
                    sim.command("advance 1")
                profile = args.profile if rep == args.reps - 1 else None
                started = time.perf_counter()
                rows = ingest(sim.urls, db, not args.incremental, sources, profile, on_row=_progress)
                walls.append(time.perf_counter() - started)
                tables.append(rows)
                if args.incremental and rep < args.reps - 1:
                    sim.close()  # a fresh (un-advanced) dataset for the next repetition
                    sim = Simulator(args.scale, args.dataset, args.seed)
                db.unlink(missing_ok=True)
                print(f"rep {rep + 1}/{args.reps}: {walls[-1]:.2f}s", flush=True)
    finally:
        sim.close()
    median = statistics.median(walls)
    idx = walls.index(sorted(walls)[len(walls) // 2])
    mode = "incremental (1 simulated day)" if args.incremental else "full initial sync"
    print(f"\n{mode}, scale {args.dataset or args.scale}, median of {len(walls)} (rep {idx + 1} shown)")
    print_table(tables[idx], walls[idx])
    total = sum(r["records"] for r in tables[idx])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\noverall: {total:,} records in {median:.2f}s median = {total / median:,.0f} records/s; "
          f"walls {', '.join(f'{w:.2f}' for w in walls)}")
    print(f"peak RSS of the ingesting process: {peak:,.0f} MiB (simulator in a separate process)")
    print(machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
