"""Helpers for the HubSpot rows of the fault matrix: simulators, paged configs, comparisons with the source.

Comparisons are set-equal on (id, last-modified ms, deleted flag) between a raw table and the simulator's own
records; raw rows whose id the source no longer has must be flagged deleted (purged, merged away).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from connectors.hubspot.client import HubSpotClient, connect
from connectors.simulator.dataset.store import Dataset
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse
from tests.connectors.hs_conftest_helpers import fast_config, small_dataset, source_rows
from tests.reliability.ledger import FaultCase

# small pages so a tiny dataset spans many pages and merge batches (a fault can hit page k of n)
PAGED: dict[str, Any] = {"list_page_size": 20, "search_page_size": 20, "association_batch_size": 50,
                         "merge_batch_rows": 40, "prefetch_pages": 2}


_BASE: dict[str, Any] = {}  # one generated tiny dataset per process, its HubSpot side restored for each case


def _fresh_tiny() -> Dataset:
    """The process's tiny dataset with its HubSpot tables, property definitions and clock as generated (3.6 s
    to generate, ~0.1 s to restore): cases change them freely."""
    if not _BASE:
        ds = small_dataset("tiny")
        with ds.lock:
            cur = ds.con.cursor()
            cur.execute("CREATE SCHEMA hs_base")
            tables = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'hs'")
                      .fetchall()]
            for t in tables:
                cur.execute(f'CREATE TABLE hs_base."{t}" AS SELECT * FROM hs."{t}" ORDER BY rowid')
            cur.close()
        _BASE.update(ds=ds, tables=tables, props=copy.deepcopy(ds.hs_properties), clock=ds.clock)
        return ds
    ds = _BASE["ds"]
    with ds.lock:
        cur = ds.con.cursor()
        now = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'hs'").fetchall()]
        for t in now:
            cur.execute(f'DROP TABLE hs."{t}"')
        for t in _BASE["tables"]:
            cur.execute(f'CREATE TABLE hs."{t}" AS SELECT * FROM hs_base."{t}" ORDER BY rowid')
        cur.close()
    ds.hs_properties = copy.deepcopy(_BASE["props"])
    ds.clock = _BASE["clock"]
    return ds


@contextmanager
def tiny_sim() -> Iterator[CrmSimulator]:
    with CrmSimulator(_fresh_tiny()) as sim:
        sim.settings.hubspot.enforce_rate_limits = False
        yield sim


def client_for(sim: CrmSimulator, sleep: Callable[[float], None] | None = None, **overrides: Any) -> HubSpotClient:
    return connect(fast_config(sim, **{**PAGED, **overrides}), sleep=sleep or (lambda s: None))


def statuses(sim: CrmSimulator, route: str, status: int) -> int:
    return sim.hubspot.status_counters.get((route, status), 0)


def expected(sim: CrmSimulator, ot: str) -> set[tuple[str, int, bool]]:
    return {(i, ms, arch) for i, (ms, arch) in source_rows(sim.dataset, ot).items()}


def landed(wh: RawWarehouse, ot: str) -> list[dict[str, Any]]:
    return wh.fetch_arrow(f'SELECT id, epoch_ms(updated_at) AS ms, coalesce(_is_deleted, false) AS d FROM '
                          f'raw_hubspot."{ot}"').to_pylist()


def compare(case: FaultCase, wh: RawWarehouse, sim: CrmSimulator, objects: list[str] | tuple[str, ...]) -> None:
    """Fill the ledger counts: raw vs the simulator's records for ``objects``."""
    for ot in objects:
        want = expected(sim, ot)
        rows = landed(wh, ot)
        src_ids = {i for i, _, _ in want}
        got = {(r["id"], r["ms"], r["d"]) for r in rows if r["id"] in src_ids}
        case.rows_compared += len(want)
        case.rows_lost += len(want - got)
        ids = [r["id"] for r in rows]
        ghosts = [r for r in rows if r["id"] not in src_ids and not r["d"]]  # gone from the source, still live
        case.rows_duplicated += len(ids) - len(set(ids)) + len(ghosts)


def compare_raw(case: FaultCase, wh: RawWarehouse, ref: RawWarehouse, objects: list[str] | tuple[str, ...]) -> None:
    """Fill the ledger counts: raw vs a clean run's raw (set-equal on id, modified ms, deleted)."""
    for ot in objects:
        want = {(r["id"], r["ms"], r["d"]) for r in landed(ref, ot)}
        rows = landed(wh, ot)
        got = {(r["id"], r["ms"], r["d"]) for r in rows}
        case.rows_compared += len(want)
        case.rows_lost += len(want - got)
        case.rows_duplicated += len(rows) - len({r["id"] for r in rows}) + len(got - want)


def stamp_records(sim: CrmSimulator, ot: str, stamps: dict[str, datetime]) -> None:
    """Set last-modified of the given records (a stand-in for edits committed at those times)."""
    ds = sim.dataset
    lm = "lastmodifieddate" if ot == "contacts" else "hs_lastmodifieddate"
    with ds.lock:
        cur = ds.con.cursor()
        for rid, ts in stamps.items():
            naive = ts.replace(tzinfo=None)
            cur.execute(f'UPDATE hs."{ot}" SET "updatedAt" = ?, {lm} = ? WHERE id = ?',
                        [naive, naive.strftime("%Y-%m-%dT%H:%M:%S.") + f"{naive.microsecond // 1000:03d}Z", rid])
        cur.close()


def live_ids(sim: CrmSimulator, ot: str) -> list[str]:
    return sorted(source_rows(sim.dataset, ot, archived=False), key=int)


def next_day(sim: CrmSimulator) -> datetime:
    """Move the simulated clock (and so server time) one day on; returns the new clock."""
    sim.dataset.clock = sim.dataset.clock + timedelta(days=1)
    return sim.dataset.clock


def add_tied_notes(sim: CrmSimulator, n: int, stamp: datetime, first_id: int = 900_000_000) -> None:
    """``n`` live notes all modified at ``stamp`` (ms precision): a change window past the 10k search cap."""
    ds = sim.dataset
    naive = stamp.replace(tzinfo=None)
    wire = naive.strftime("%Y-%m-%dT%H:%M:%S.") + f"{naive.microsecond // 1000:03d}Z"
    with ds.lock:
        cur = ds.con.cursor()
        cols = [r[0] for r in cur.execute("SELECT * FROM hs.notes LIMIT 0").description]
        exprs = []
        for c in cols:
            if c in ("id", "hs_object_id"):
                exprs.append(f"CAST({first_id} + i AS VARCHAR)")
            elif c in ("updatedAt", "createdAt"):
                exprs.append(f"TIMESTAMP '{naive}'")
            elif c == "archived":
                exprs.append("FALSE")
            elif c == "hs_lastmodifieddate":
                exprs.append(f"'{wire}'")
            else:
                exprs.append("NULL")
        cur.execute(f"INSERT INTO hs.notes SELECT {', '.join(exprs)} FROM range({n}) t(i)")
        cur.close()
