"""Both fake CRM APIs in one process: ``with CrmSimulator(dataset) as sim: ...``."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from types import TracebackType

from ..dataset.store import Dataset
from .faults import FaultPlan
from .http import ApiServer
from .settings import SimulatorSettings


class CrmSimulator:
    """Serves a :class:`Dataset` as Salesforce (REST, SOAP/OAuth login, Bulk 2.0) and HubSpot (CRM v3/v4).

    Each API listens on its own free loopback port (or the ports given). Faults are configured per
    endpoint through :attr:`faults`, and :attr:`counters` counts requests per endpoint.
    """

    def __init__(self, dataset: Dataset, settings: SimulatorSettings | None = None,
                 faults: FaultPlan | None = None, salesforce_port: int = 0, hubspot_port: int = 0,
                 host: str = "127.0.0.1", log_requests: bool = False) -> None:
        from .hubspot.api import HubSpotApi
        from .salesforce.api import SalesforceApi

        self.dataset = dataset
        self.settings = settings or SimulatorSettings.default()
        self.faults = faults or FaultPlan()
        self._started = time.monotonic()
        self.salesforce = ApiServer(SalesforceApi(dataset, self.settings.salesforce, self.faults),
                                    self.faults, host, salesforce_port, log_requests, clock=self.now)
        self.hubspot = ApiServer(HubSpotApi(dataset, self.settings.hubspot, self.faults),
                                 self.faults, host, hubspot_port, log_requests, clock=self.now)
        self.salesforce.plugin.base_url = self.salesforce.base_url  # type: ignore[attr-defined]
        self.hubspot.plugin.base_url = self.hubspot.base_url  # type: ignore[attr-defined]

    def now(self) -> datetime:
        """Simulated server time, sent in every response's Date header.

        The dataset's clock is the moment the CRMs' last simulated day ended; the refresh runs
        ``settings.refresh_delay_seconds`` later and time then ticks with the wall clock.
        """
        elapsed = time.monotonic() - self._started
        return self.dataset.clock + timedelta(seconds=self.settings.refresh_delay_seconds + elapsed)

    @property
    def salesforce_url(self) -> str:
        return self.salesforce.base_url

    @property
    def hubspot_url(self) -> str:
        return self.hubspot.base_url

    def counters(self) -> dict[str, int]:
        """Requests per endpoint name across both APIs (e.g. ``{"sf.query": 3, "hs.search": 12}``)."""
        return {**self.salesforce.counters, **self.hubspot.counters}

    def reset_counters(self) -> None:
        self.salesforce.reset_counters()
        self.hubspot.reset_counters()

    def start(self) -> CrmSimulator:
        self.salesforce.start()
        self.hubspot.start()
        return self

    def stop(self) -> None:
        self.salesforce.stop()
        self.hubspot.stop()

    def __enter__(self) -> CrmSimulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
