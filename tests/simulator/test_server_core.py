"""The HTTP core: simulated server time, crash containment, fault plans."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.simulator.dataset.store import Dataset
from connectors.simulator.server.faults import Fault, FaultPlan
from connectors.simulator.server.simulator import CrmSimulator

CLOCK = datetime(2025, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim():
    with CrmSimulator(Dataset.empty(CLOCK)) as simulator:
        yield simulator


def test_date_header_is_simulated_server_time(sim: CrmSimulator) -> None:
    for url in (f"{sim.salesforce_url}/services/data/", f"{sim.hubspot_url}/crm/v3/owners/"):
        resp = requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5)
        served = email.utils.parsedate_to_datetime(resp.headers["Date"])
        expected = CLOCK + timedelta(seconds=sim.settings.refresh_delay_seconds)
        assert expected <= served <= expected + timedelta(minutes=5), (url, served)


def test_unknown_route_answers_in_the_apis_own_error_shape(sim: CrmSimulator) -> None:
    sf = requests.get(f"{sim.salesforce_url}/nope", timeout=5)
    assert sf.status_code == 404 and isinstance(sf.json(), list) and sf.json()[0]["errorCode"] == "NOT_FOUND"
    hs = requests.get(f"{sim.hubspot_url}/nope", headers={"Authorization": "Bearer x"}, timeout=5)
    assert hs.status_code == 404 and hs.json()["status"] == "error"


def test_fault_after_and_times() -> None:
    plan = FaultPlan()
    fault = plan.add("status", "sf.query*", status=503, after=2, times=2)
    fired = [plan.match("sf.query") is not None for _ in range(6)]
    assert fired == [False, False, True, True, False, False]
    assert fault.fired == 2 and plan.match("hs.search") is None


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault.from_dict({"kind": "explode"})
    with pytest.raises(ValueError, match="unknown fault settings"):
        Fault.from_dict({"kind": "slow", "dealy": 1})
    with pytest.raises(ValueError, match="status"):
        Fault(kind="status")
