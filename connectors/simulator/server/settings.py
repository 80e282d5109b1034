"""Knobs of the simulated CRM APIs: credentials to require, quotas and limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SalesforceSettings:
    # When require_credentials is set, logins must present exactly these values; otherwise any
    # credentials log in. Tokens the simulator issued are always accepted until revoked.
    require_credentials: bool = False
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    session_id: str | None = None  # a pre-issued session accepted for direct-session clients
    organization_id: str = "00D5g000000SimAAA"
    daily_api_max: int = 15_000  # reported in Sforce-Limit-Info; 403 REQUEST_LIMIT_EXCEEDED when used up
    session_ttl_requests: int | None = None  # revoke a session after this many authenticated requests
    query_locator_ttl_seconds: float = 900.0  # idle query cursors expire (INVALID_QUERY_LOCATOR)
    default_batch_size: int = 2000
    recycle_bin_days: int = 15
    bulk_job_polls_before_complete: int = 1  # InProgress answers before JobComplete


@dataclass
class HubSpotSettings:
    require_credentials: bool = False
    access_token: str | None = None
    enforce_rate_limits: bool = True
    ten_secondly_max: int = 190  # Professional/Enterprise burst: requests per rolling 10 s
    search_per_second: int = 5  # search has its own, stricter per-second limit
    daily_max: int = 650_000
    search_result_cap: int = 10_000
    max_filter_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    max_list_limit: int = 100
    max_search_limit: int = 200
    search_lag_seconds: float = 0.0  # search hides records changed within this many simulated seconds
    associations_207_for_missing: bool = False  # report inputs without associations as 207 errors
    max_request_line: int = 8_192  # longer request lines (method, path, query) get 414 URI Too Long, like a real edge


@dataclass
class SimulatorSettings:
    salesforce: SalesforceSettings
    hubspot: HubSpotSettings
    # server time (the Date header) = dataset clock + this delay + wall time since start
    refresh_delay_seconds: float = 600.0

    @classmethod
    def default(cls) -> SimulatorSettings:
        return cls(SalesforceSettings(), HubSpotSettings())
