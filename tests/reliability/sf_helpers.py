"""Salesforce helpers shared by the connector tests and the reliability matrix.

``sf_source_rows`` is what the simulator serves through queryAll (the truth every run is compared with);
``sf_compare`` fills a ledger case from a set comparison on (Id, SystemModstamp ms); ``sf_env`` starts a
simulator over a fresh copy of a small saved dataset (loading the folder takes ~0.3 s, generating ~3 s).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.sync import SyncOptions, SyncResult, sync_salesforce
from connectors.simulator.dataset.folder import load, save
from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset
from connectors.simulator.server.settings import SimulatorSettings
from connectors.simulator.server.simulator import CrmSimulator
from connectors.warehouse.raw import RawWarehouse
from tests.connectors.conftest import SF_FAST_RETRY, sf_config_for, sf_options

__all__ = ["SF_FAST_RETRY", "sf_config_for", "sf_options"]

RECYCLE_BIN_DAYS = 15
SF_OBJECTS = ("Account", "Contact", "Task")
PAGE = 200  # REST page = merge batch: every page is its own commit


def sf_paged(**kw: Any) -> SyncOptions:
    """REST with one commit per 200-row page (Task in the tiny dataset is 6 pages)."""
    return sf_options(rest_page_size=PAGE, batch_rows=PAGE, **kw)


# -- truth and comparison -----------------------------------------------------------------------------------
def sf_source_rows(ds: Dataset, obj: str) -> dict[str, tuple[int, bool]]:
    """(SystemModstamp ms, deleted) per Id of what queryAll serves (recycle-bin rows older than 15 days are gone)."""
    names = {f["name"] for f in ds.sf_describe[obj]["fields"]}
    deleted = '"IsDeleted"' if "IsDeleted" in names else "false"
    cutoff = ds.clock.replace(tzinfo=None) - timedelta(days=RECYCLE_BIN_DAYS)
    with ds.reading() as cur:
        rows = cur.execute(
            f'SELECT "Id", epoch_ms("SystemModstamp"), coalesce({deleted}, false) FROM {ds.sf_table(obj)} '
            f'WHERE NOT (coalesce({deleted}, false) AND "SystemModstamp" < ?)', [cutoff]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def sf_source_order(ds: Dataset, obj: str) -> list[tuple[str, int]]:
    """(Id, ms) in the order a full window query pages them (SystemModstamp, Id)."""
    return sorted(((i, ms) for i, (ms, _) in sf_source_rows(ds, obj).items()), key=lambda r: (r[1], r[0]))


def sf_warehouse_rows(wh: RawWarehouse, obj: str) -> dict[str, tuple[int, bool]]:
    if not wh.table_exists("salesforce", obj.lower()):
        return {}
    rows = wh.fetch_arrow(f'SELECT "Id", epoch_ms("SystemModstamp") AS ms, coalesce(_is_deleted, false) AS d '
                          f"FROM raw_salesforce.{obj.lower()}").to_pylist()
    return {r["Id"]: (r["ms"], r["d"]) for r in rows}


def sf_assert_matches(ds: Dataset, wh: RawWarehouse, obj: str) -> None:
    src, got = sf_source_rows(ds, obj), sf_warehouse_rows(wh, obj)
    assert len(got) == wh.table_rows("salesforce", obj.lower())  # no duplicate keys
    missing = {k: v for k, v in src.items() if got.get(k) != v}
    assert not missing, f"{obj}: {len(missing)} source rows missing or stale, e.g. {list(missing.items())[:3]}"
    extra = [k for k, (_, d) in got.items() if k not in src and not d]
    assert not extra, f"{obj}: rows gone from the source but not flagged deleted: {extra[:3]}"


def sf_compare(case: Any, ds: Dataset, wh: RawWarehouse, obj: str) -> None:
    """Add a set comparison (Id, SystemModstamp) with the simulator's records to a ledger ``case``, then assert.

    Lost = source rows missing or stale in the warehouse; duplicated = raw rows beyond one per Id.
    """
    src, got = sf_source_rows(ds, obj), sf_warehouse_rows(wh, obj)
    expected = {(i, ms) for i, (ms, _) in src.items()}
    have = {(i, ms) for i, (ms, _) in got.items()}
    case.rows_compared += len(expected)
    case.rows_lost += len(expected - have)
    case.rows_duplicated += wh.table_rows("salesforce", obj.lower()) - len(got) if got else 0
    sf_assert_matches(ds, wh, obj)
    flags = [i for i, (_, d) in src.items() if got[i][1] != d]
    assert not flags, f"{obj}: deletion flag differs from the source for {flags[:3]}"


def sf_all(results: list[SyncResult], status: str = "success") -> None:
    bad = [(r.object, r.status, r.message) for r in results if r.status != status]
    assert not bad, bad


# -- environments -------------------------------------------------------------------------------------------
_SAVED: list[Path] = []  # one saved folder per process, whichever test module asks first


@pytest.fixture(scope="session")
def sf_rel_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset (seed 2, as of 2025-06-30) saved with only Account, Contact and Task."""
    if not _SAVED:
        root = save(generate("tiny", seed=2, as_of=date(2025, 6, 30)), tmp_path_factory.mktemp("sf_rel") / "tiny")
        for path in (root / "salesforce").glob("*.jsonl"):
            if path.stem not in SF_OBJECTS:
                path.unlink()
        for sub in ("hubspot", "ground_truth"):
            shutil.rmtree(root / sub, ignore_errors=True)
        _SAVED.append(root)
    return _SAVED[0]


@dataclass
class SfEnv:
    ds: Dataset
    sim: CrmSimulator
    wh: RawWarehouse
    tmp: Path

    @property
    def cfg(self) -> SalesforceConfig:
        return sf_config_for(self.sim)

    @property
    def plugin(self) -> Any:
        return self.sim.salesforce.plugin

    def sync(self, opts: SyncOptions | None = None, objects: tuple[str, ...] = ("Task",),
             wh: RawWarehouse | None = None, **kw: Any) -> SyncResult:
        """Sync ``objects``; returns the first object's result."""
        results = sync_salesforce(self.cfg, wh or self.wh, objects=list(objects), options=opts or sf_paged(), **kw)
        return results[0]

    def cursor(self, obj: str = "Task") -> Any:
        return self.wh.get_state("salesforce", obj.lower()).cursor

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        with self.ds.lock:
            self.ds.con.execute(sql, params or [])


@contextmanager
def sf_env(folder: Path, tmp: Path, settings: SimulatorSettings | None = None) -> Iterator[SfEnv]:
    ds = load(folder)
    with CrmSimulator(ds, settings=settings) as sim, RawWarehouse(tmp / "wh.duckdb") as wh:
        yield SfEnv(ds, sim, wh, tmp)
