"""Fixtures: a ``tiny`` simulator, the connector environment (fake, recognizable secrets) and the resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from connectors.simulator.dataset.generate import generate
from connectors.simulator.server.simulator import CrmSimulator

AS_OF = date(2025, 6, 30)
SECRETS = {
    "SALESFORCE_PASSWORD": "pw-SECRET-7f3a91",
    "SALESFORCE_SECURITY_TOKEN": "tok-SECRET-9b2c44",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-SECRET-4d5e6f",
}
CONNECTOR_VARS = ("SALESFORCE_URL", "SALESFORCE_DOMAIN", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD",
                  "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_CONSUMER_SECRET",
                  "SALESFORCE_PRIVATE_KEY_FILE", "SALESFORCE_PRIVATE_KEY", "SALESFORCE_SESSION_ID",
                  "SALESFORCE_API_VERSION", "SALESFORCE_OBJECTS", "HUBSPOT_URL", "HUBSPOT_ACCESS_TOKEN", "ACCTWH_HOME")


@pytest.fixture(scope="session")
def tiny_dataset() -> Any:
    return generate("tiny", seed=1, as_of=AS_OF)


@pytest.fixture
def sim(tiny_dataset: Any) -> Iterator[CrmSimulator]:
    """A ``tiny`` simulator (read-only use: tests inject faults, never change the dataset)."""
    with CrmSimulator(tiny_dataset) as simulator:
        simulator.settings.hubspot.enforce_rate_limits = False
        yield simulator


@pytest.fixture
def crm_env(sim: CrmSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point both connectors at the simulator (SOAP login) and ACCTWH_HOME at a temporary folder."""
    for var in CONNECTOR_VARS:
        monkeypatch.delenv(var, raising=False)
    env = {"SALESFORCE_URL": sim.salesforce_url, "SALESFORCE_USERNAME": "etl@example.com",
           "HUBSPOT_URL": sim.hubspot_url, "ACCTWH_HOME": str(tmp_path / "wh"), **SECRETS}
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    return env


def make_resources() -> dict[str, Any]:
    """The code location's resources, with HubSpot pacing opened up for the simulator."""
    from orchestration.defs.resources import HubSpotResource, build_resources

    resources: dict[str, Any] = build_resources()
    hubspot = resources["hubspot"]
    resources["hubspot"] = HubSpotResource(access_token=hubspot.access_token, url=hubspot.url,
                                           general_per_10s=100_000, search_per_second=10_000)
    return resources


def all_event_text(result: dg.ExecuteInProcessResult) -> str:
    """Every event's message and metadata of a run, as one string (for secret scanning)."""
    parts = []
    for event in result.all_events:
        parts.append(event.message or "")
        data = event.event_specific_data
        for holder in (getattr(data, "materialization", None), data, getattr(data, "user_failure_data", None)):
            metadata = getattr(holder, "metadata", None)
            if isinstance(metadata, dict):
                parts.append(json.dumps({k: str(getattr(v, "value", v)) for k, v in metadata.items()}))
        error = getattr(data, "error", None)
        if error is not None:
            parts.append(str(error.to_string()))
    return "\n".join(parts)


def assert_no_secrets(text: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in text, f"the value of {name} leaked"
