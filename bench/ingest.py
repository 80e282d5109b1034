"""Both connectors into one raw DuckDB: Salesforce and HubSpot concurrently, one thread each.

``ingest`` runs in the calling process (``bench/ingest_bench.py`` uses it so); ``run_ingest`` runs it in a child
process (``python -m bench.ingest``) so the peak RSS reported is that of the ingesting process alone, and streams
per-object progress back for a progress bar.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.proc import emit, event_channel, run_child

Row = dict[str, Any]
SOURCES = ("salesforce", "hubspot")


def ingest(urls: dict[str, str], db: Path, full_refresh: bool, sources: list[str] | tuple[str, ...] = SOURCES,
           profile: str | None = None, on_row: Callable[[Row], None] | None = None,
           on_loaded: Callable[[str, str, int], None] | None = None) -> list[Row]:
    """Both sources at once into one RawWarehouse: its lock serialises the single DuckDB connection (every merge
    commits with its stream state in one transaction), while one connector waits on HTTP or DuckDB the other runs.
    ``on_row`` gets each finished stream, ``on_loaded(source, object, rows so far)`` Salesforce's progress."""
    from connectors.warehouse.raw import RawWarehouse

    runners = {"salesforce": _ingest_salesforce, "hubspot": _ingest_hubspot}
    rows: dict[str, list[Row]] = {name: [] for name in sources}
    errors: list[BaseException] = []
    with RawWarehouse(db) as wh:
        def run(name: str) -> None:
            def add(row: Row) -> None:
                rows[name].append(row)
                if on_row is not None:
                    on_row(row)

            try:
                if profile:  # cProfile sees only its own thread: one profile per source
                    import cProfile

                    prof = cProfile.Profile()
                    prof.runcall(runners[name], urls, wh, full_refresh, add, on_loaded)
                    prof.dump_stats(f"{profile}.{name}")
                else:
                    runners[name](urls, wh, full_refresh, add, on_loaded)
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


def _ingest_salesforce(urls: dict[str, str], wh: Any, full_refresh: bool, add: Callable[[Row], None],
                       on_loaded: Callable[[str, str, int], None] | None) -> None:
    from connectors.salesforce.client import connect as sf_connect
    from connectors.salesforce.config import SalesforceConfig
    from connectors.salesforce.sync import SyncOptions as SfOptions
    from connectors.salesforce.sync import sync_salesforce

    cfg = SalesforceConfig.from_env({"SALESFORCE_URL": urls["salesforce"], "SALESFORCE_USERNAME": "etl@x.com",
                                     "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok"})
    opts = SfOptions(full_refresh=full_refresh, bulk_wait=0.05, quota_share=1.0)
    client = sf_connect(cfg, retry=opts.retry, quota_share=opts.quota_share)
    progress = (lambda obj, loaded: on_loaded("salesforce", obj, loaded)) if on_loaded else None
    for r in sync_salesforce(cfg, wh, full_refresh=full_refresh, options=opts, client=client, progress=progress):
        add({"source": "salesforce", "object": r.object, "status": r.status,
             "records": r.rows_inserted + r.rows_updated + r.rows_deleted,
             "seconds": r.duration_s, "calls": r.api_calls, "path": r.api_path})


def _ingest_hubspot(urls: dict[str, str], wh: Any, full_refresh: bool, add: Callable[[Row], None],
                    on_loaded: Callable[[str, str, int], None] | None) -> None:
    from connectors.hubspot.config import HubSpotConfig
    from connectors.hubspot.sync import sync_hubspot

    # the client-side token buckets raised to match the simulator's disabled limits
    hcfg = HubSpotConfig(access_token="bench", url=urls["hubspot"], general_per_10s=1_000_000,
                         search_per_second=100_000)

    def progress(r: Any) -> None:
        path = "search" if "search" in (r.details or {}) else "list"
        add({"source": "hubspot", "object": r.object, "status": r.status,
             "records": r.rows_inserted + r.rows_updated + r.rows_deleted,
             "seconds": r.duration_s, "calls": r.api_calls, "path": path})

    sync_hubspot(hcfg, wh, full_refresh=full_refresh, progress=progress)


def run_ingest(urls: dict[str, str], db: Path, full_refresh: bool,
               on_records: Callable[[int, str], None] | None = None) -> dict[str, Any]:
    """``ingest`` in a child process: ``{"wall_s", "rows", "peak_rss_mib"}``. ``on_records(n, label)`` is called
    as records land (Salesforce while an object loads, HubSpot when a stream finishes)."""
    loaded: dict[str, int] = {}

    def on_event(event: dict[str, Any]) -> None:
        if on_records is None:
            return
        key = f"{event['source']} {event['object']}"
        if event["event"] == "loaded":  # cumulative per Salesforce object
            on_records(event["loaded"] - loaded.get(key, 0), key)
            loaded[key] = event["loaded"]
        elif event["event"] == "row":
            on_records(max(0, event["row"]["records"] - loaded.get(key, 0)), key)
            loaded[key] = event["row"]["records"]

    return run_child("bench.ingest", {"urls": urls, "db": str(db), "full_refresh": full_refresh}, on_event)


def _child(payload: dict[str, Any]) -> int:
    channel = event_channel()
    lock = threading.Lock()

    def on_row(row: Row) -> None:
        with lock:
            emit(channel, event="row", source=row["source"], object=row["object"], row=row)

    def on_loaded(source: str, obj: str, n: int) -> None:
        with lock:
            emit(channel, event="loaded", source=source, object=obj, loaded=n)

    started = time.perf_counter()
    rows = ingest(payload["urls"], Path(payload["db"]), bool(payload["full_refresh"]), on_row=on_row,
                  on_loaded=on_loaded)
    emit(channel, event="done", wall_s=time.perf_counter() - started, rows=rows)
    return 0


if __name__ == "__main__":
    sys.exit(_child(json.loads(sys.argv[1])))
