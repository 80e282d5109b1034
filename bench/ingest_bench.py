"""Ingestion benchmark: Salesforce + HubSpot simulator -> DuckDB raw tables.

    uv run python bench/ingest_bench.py                      # demo scale, full sync, 1 repetition
    uv run python bench/ingest_bench.py --scale large --reps 3
    uv run python bench/ingest_bench.py --dataset DIR        # a folder from `acctwh simulator generate`
    uv run python bench/ingest_bench.py --incremental        # full sync, advance(days=1), timed incremental
    uv run python bench/ingest_bench.py --profile x.prof     # cProfile per source thread: x.prof.<source>

The simulator runs in a separate process (``--serve`` mode of this script) so the ingesting process's peak
RSS (``ru_maxrss``) and CPU are measured on their own. Salesforce and HubSpot sync concurrently, one thread
each, into one RawWarehouse (its lock serialises the single DuckDB connection). Each repetition syncs into
a fresh DuckDB file. HubSpot rate limits are disabled in the simulator and the connector's token buckets are
raised: a real portal allows 100-190 requests per 10 s (and 4-5 searches/s), so a real HubSpot sync of the
same volume is far slower and bounded by the API budget, not by this code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- the simulator process ------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from connectors.simulator.dataset.advance import advance
    from connectors.simulator.dataset.generate import generate
    from connectors.simulator.server.settings import SimulatorSettings
    from connectors.simulator.server.simulator import CrmSimulator

    if args.dataset:
        from connectors.simulator.dataset.folder import load

        dataset = load(Path(args.dataset))
    else:
        dataset = generate(args.scale, seed=args.seed)
    settings = SimulatorSettings.default()
    settings.hubspot.enforce_rate_limits = False
    settings.salesforce.daily_api_max = 10_000_000
    settings.salesforce.bulk_job_polls_before_complete = 0
    settings.hubspot.daily_max = 100_000_000
    prof = None
    if os.environ.get("BENCH_SERVER_PROFILE"):  # profile request handling (all handler threads, serialised)
        import cProfile
        import threading

        from connectors.simulator.server.http import ApiServer

        prof, lock, handle = cProfile.Profile(), threading.Lock(), ApiServer.handle

        def profiled(self: Any, request: Any) -> Any:
            with lock:
                return prof.runcall(handle, self, request)

        ApiServer.handle = profiled  # type: ignore[method-assign]
    with CrmSimulator(dataset, settings=settings) as sim:
        print(json.dumps({"salesforce": sim.salesforce_url, "hubspot": sim.hubspot_url}), flush=True)
        for line in sys.stdin:  # commands from the bench: "advance N" | "quit"
            cmd = line.split()
            if not cmd or cmd[0] == "quit":
                break
            if cmd[0] == "advance":
                summary = advance(dataset, days=int(cmd[1]))
                print(json.dumps({"advanced": summary}, default=str), flush=True)
            elif cmd[0] == "counters":
                print(json.dumps(sim.counters()), flush=True)
    if prof is not None:
        prof.dump_stats(os.environ["BENCH_SERVER_PROFILE"])
    return 0


class Simulator:
    def __init__(self, scale: str, dataset: str | None, seed: int) -> None:
        cmd = [sys.executable, __file__, "--serve", "--scale", scale, "--seed", str(seed)]
        if dataset:
            cmd += ["--dataset", dataset]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("simulator process failed to start")
        self.urls = json.loads(line)

    def command(self, text: str) -> Any:
        self.proc.stdin.write(text + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


# -- the ingest --------------------------------------------------------------------------------------
def ingest(urls: dict[str, str], db: Path, full_refresh: bool, sources: list[str],
           profile: str | None = None) -> list[dict[str, Any]]:
    """Both sources at once, one thread each, into one RawWarehouse: its lock serialises the single DuckDB
    connection (every merge commits with its stream state in one transaction), while one connector waits on
    HTTP or DuckDB the other runs."""
    from connectors.warehouse.raw import RawWarehouse

    runners = {"salesforce": _ingest_salesforce, "hubspot": _ingest_hubspot}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    errors: list[BaseException] = []
    with RawWarehouse(db) as wh:
        def run(name: str) -> None:
            try:
                if profile:  # cProfile sees only its own thread: one profile per source
                    import cProfile

                    prof = cProfile.Profile()
                    prof.runcall(runners[name], urls, wh, full_refresh, rows[name])
                    prof.dump_stats(f"{profile}.{name}")
                else:
                    runners[name](urls, wh, full_refresh, rows[name])
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(name,), name=f"ingest-{name}") for name in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return [r for name in sources for r in rows[name]]


def _ingest_salesforce(urls: dict[str, str], wh: Any, full_refresh: bool, rows: list[dict[str, Any]]) -> None:
    from connectors.salesforce.client import connect as sf_connect
    from connectors.salesforce.config import SalesforceConfig
    from connectors.salesforce.sync import SyncOptions as SfOptions
    from connectors.salesforce.sync import sync_salesforce

    cfg = SalesforceConfig.from_env({"SALESFORCE_URL": urls["salesforce"], "SALESFORCE_USERNAME": "etl@x.com",
                                     "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok"})
    opts = SfOptions(full_refresh=full_refresh, bulk_wait=0.05, quota_share=1.0)
    client = sf_connect(cfg, retry=opts.retry, quota_share=opts.quota_share)
    for r in sync_salesforce(cfg, wh, full_refresh=full_refresh, options=opts, client=client):
        rows.append({"source": "salesforce", "object": r.object, "status": r.status,
                     "records": r.rows_inserted + r.rows_updated + r.rows_deleted,
                     "seconds": r.duration_s, "calls": r.api_calls, "path": r.api_path})
        _progress(rows[-1])


def _ingest_hubspot(urls: dict[str, str], wh: Any, full_refresh: bool, rows: list[dict[str, Any]]) -> None:
    from connectors.hubspot.config import HubSpotConfig
    from connectors.hubspot.sync import sync_hubspot

    hcfg = HubSpotConfig(access_token="bench", url=urls["hubspot"], general_per_10s=1_000_000,
                         search_per_second=100_000)

    def progress(r: Any) -> None:
        path = "search" if "search" in (r.details or {}) else "list"
        rows.append({"source": "hubspot", "object": r.object, "status": r.status,
                     "records": r.rows_inserted + r.rows_updated + r.rows_deleted,
                     "seconds": r.duration_s, "calls": r.api_calls, "path": path})
        _progress(rows[-1])

    sync_hubspot(hcfg, wh, full_refresh=full_refresh, progress=progress)


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
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        return serve(args)

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
                rows = ingest(sim.urls, db, not args.incremental, sources, profile)
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
