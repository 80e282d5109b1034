"""Shared fixtures for the HubSpot connector tests (imported explicitly; no conftest.py of ours)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from connectors.hubspot.client import HubSpotClient, connect
from connectors.hubspot.config import HubSpotConfig
from connectors.simulator.dataset.generate import generate
from connectors.simulator.server.simulator import CrmSimulator

TOKEN = "pat-na1-SECRET-TOKEN-0000"
FAST = {"general_per_10s": 100_000, "search_per_second": 10_000, "backoff_base_s": 0.001, "backoff_cap_s": 0.01,
        "retry_after_cap_s": 0.01, "rate_limit_window_s": 0.001}


def small_dataset(scale: str = "small") -> Any:
    return generate(scale, seed=1, as_of=date(2025, 6, 30))


def fast_config(sim: CrmSimulator, **overrides: Any) -> HubSpotConfig:
    return HubSpotConfig.from_env({"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_URL": sim.hubspot_url},
                                  **{**FAST, **overrides})


def fast_client(sim: CrmSimulator, **overrides: Any) -> HubSpotClient:
    return connect(fast_config(sim, **overrides), sleep=lambda s: None)


@pytest.fixture(scope="module")
def hs_sim_small_module() -> Iterator[CrmSimulator]:
    """One read-only ``small`` simulator per test module (tests must not mutate its dataset)."""
    ds = small_dataset()
    with CrmSimulator(ds) as sim:
        sim.settings.hubspot.enforce_rate_limits = False
        yield sim


@pytest.fixture
def hs_sim_small(hs_sim_small_module: CrmSimulator) -> Iterator[CrmSimulator]:
    hs_sim_small_module.faults.clear()
    yield hs_sim_small_module
    hs_sim_small_module.faults.clear()


@pytest.fixture
def hs_sim_fresh() -> Iterator[CrmSimulator]:
    """A private ``small`` simulator whose dataset a test may change."""
    ds = small_dataset()
    with CrmSimulator(ds) as sim:
        sim.settings.hubspot.enforce_rate_limits = False
        yield sim


def source_rows(dataset: Any, object_type: str, archived: bool | None = None) -> dict[str, tuple[Any, ...]]:
    """id -> (updatedAt ms, archived) from the dataset tables."""
    where = "" if archived is None else f"WHERE archived = {str(archived).upper()}"
    with dataset.reading() as cur:
        rows = cur.execute(f'SELECT id, epoch_ms("updatedAt"), archived FROM hs."{object_type}" {where}').fetchall()
    return {r[0]: (r[1], bool(r[2])) for r in rows}


@pytest.fixture
def hs_sim_tiny() -> Iterator[CrmSimulator]:
    """A private ``tiny`` simulator whose dataset a test may change (fast: ~20 companies, ~100 contacts)."""
    ds = small_dataset("tiny")
    with CrmSimulator(ds) as sim:
        sim.settings.hubspot.enforce_rate_limits = False
        yield sim


def raw_rows(wh: Any, object_type: str) -> dict[str, tuple[Any, ...]]:
    """id -> (updated_at ms, deleted) of a raw table."""
    rows = wh.fetch_arrow(f'SELECT id, epoch_ms(updated_at) AS ms, _is_deleted FROM raw_hubspot."{object_type}"')
    return {r["id"]: (r["ms"], bool(r["_is_deleted"])) for r in rows.to_pylist()}


def touch(sim: CrmSimulator, object_type: str, n: int = 40, where: str = "NOT archived") -> list[str]:
    """Edit ``n`` records of ``object_type`` at the dataset clock; returns their ids."""
    ds = sim.dataset
    lm = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    with ds.lock:
        cur = ds.con.cursor()
        ids = [r[0] for r in cur.execute(f'SELECT id FROM hs."{object_type}" WHERE {where} ORDER BY hash(id), id '
                                         f"LIMIT {n}").fetchall()]
        cur.execute(f'UPDATE hs."{object_type}" SET "updatedAt" = ?, {lm} = ? WHERE id IN (SELECT unnest(?))',
                    [ds.clock.replace(tzinfo=None), ds.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"), ids])
        cur.close()
    return ids
