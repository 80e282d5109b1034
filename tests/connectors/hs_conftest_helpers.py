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
        "retry_after_cap_s": 0.01}


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
