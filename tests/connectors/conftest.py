"""Shared fixtures for the connector tests (Salesforce fixtures are prefixed ``sf_``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from connectors.salesforce.client import RetryPolicy
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.sync import SyncOptions
from connectors.simulator.dataset.generate import generate
from connectors.simulator.server.simulator import CrmSimulator

SF_AS_OF = date(2025, 6, 30)
SF_FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01)


def sf_options(**kw) -> SyncOptions:
    base = {"retry": SF_FAST_RETRY, "bulk_wait": 0.01, "bulk_threshold": float("inf")}
    base.update(kw)
    return SyncOptions(**base)


def sf_config_for(sim: CrmSimulator, **env: str) -> SalesforceConfig:
    values = {"SALESFORCE_URL": sim.salesforce_url, "SALESFORCE_USERNAME": "etl@example.com",
              "SALESFORCE_PASSWORD": "pw-secret-1", "SALESFORCE_SECURITY_TOKEN": "tok-secret-1"}
    values.update(env)
    return SalesforceConfig.from_env(values)


@pytest.fixture(scope="session")
def sf_tiny_readonly():
    """A tiny dataset shared by tests that never modify it."""
    return generate("tiny", seed=1, as_of=SF_AS_OF)


@pytest.fixture
def sf_tiny():
    """A fresh tiny dataset (tests may modify it)."""
    return generate("tiny", seed=2, as_of=SF_AS_OF)


@pytest.fixture
def sf_small():
    return generate("small", seed=1, as_of=SF_AS_OF)


@pytest.fixture
def sf_sim_readonly(sf_tiny_readonly) -> Iterator[CrmSimulator]:
    with CrmSimulator(sf_tiny_readonly) as sim:
        yield sim
