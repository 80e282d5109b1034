"""HubSpotConfig: endpoint, token and knobs, read from the environment. The token never shows in repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

from connectors import env_values

from .errors import ConfigError

TOKEN_VAR = "HUBSPOT_ACCESS_TOKEN"
URL_VAR = "HUBSPOT_URL"
# HubSpotConfig field -> its tuning variable (names and meaning in .env.example)
ENV_OPTIONS: dict[str, env_values.Duration | env_values.Count] = {
    "reconcile_every": env_values.Duration("HUBSPOT_RECONCILE_EVERY_DAYS", "days"),
    # no "never": the field is not Optional (sync compares it) and the snapshot is what flags removed associations
    "association_snapshot_every": env_values.Duration("HUBSPOT_ASSOCIATION_SNAPSHOT_EVERY_DAYS", "days",
                                                      allow_never=False),
}

OBJECT_TYPES: tuple[str, ...] = (
    "companies", "contacts", "deals", "line_items", "products", "calls", "emails", "meetings", "notes", "tasks",
)
ENGAGEMENT_TYPES: tuple[str, ...] = ("calls", "emails", "meetings", "notes", "tasks")
ASSOCIATION_PAIRS: tuple[tuple[str, str], ...] = (
    ("companies", "contacts"),
    ("deals", "companies"),
    ("deals", "contacts"),
    ("deals", "line_items"),
    *((e, t) for e in ENGAGEMENT_TYPES for t in ("companies", "contacts", "deals")),
)


@dataclass(frozen=True)
class HubSpotConfig:
    access_token: str = field(repr=False)
    url: str | None = None  # None = https://api.hubapi.com
    # rate limits (client side): search requests per second, other requests per rolling 10 s
    search_per_second: int = 4
    general_per_10s: int = 100
    daily_reserve: int = 0  # stop (partial) when X-HubSpot-RateLimit-Daily-Remaining drops to this
    # retries
    max_retries: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retry_after_cap_s: float = 60.0
    # a 429 TEN_SECONDLY_ROLLING waits at least this long (plus up to 25% jitter); SECONDLY a tenth of it
    rate_limit_window_s: float = 10.0
    timeout_s: float = 120.0
    # incremental windows
    lookback: timedelta = timedelta(minutes=10)
    lag: timedelta = timedelta(minutes=1)
    association_snapshot_every: timedelta = timedelta(days=7)
    # id reconciliation (purged / GDPR-deleted records): list every live and archived id, flag the rest deleted;
    # same cadence as Salesforce's (timedelta(0) = every run, None = never)
    reconcile_every: timedelta | None = timedelta(days=7)
    # paging
    list_page_size: int = 100
    search_page_size: int = 200
    search_result_cap: int = 10_000
    batch_read_size: int = 100
    association_batch_size: int = 1_000  # v4 batch read accepts at most 1,000 inputs
    merge_batch_rows: int = 20_000  # list/search pages are merged (one transaction) in batches of about this size
    # chunks of pages (up to association_batch_size rows each, with their associations) read ahead in a background
    # thread while a batch merges (0 = off)
    prefetch_pages: int = 8
    url_property_chars: int = 2_000  # GET property lists beyond this many characters go through batch read
    objects: tuple[str, ...] = OBJECT_TYPES
    association_pairs: tuple[tuple[str, str], ...] = ASSOCIATION_PAIRS

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "access_token")
        return f"HubSpotConfig(access_token='***', {shown})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> HubSpotConfig:
        env = os.environ if env is None else env
        token = (env.get(TOKEN_VAR) or "").strip()
        if not token:
            raise ConfigError(f"{TOKEN_VAR} is not set: create a HubSpot private app and export its access token "
                              f"as {TOKEN_VAR} (and {URL_VAR} for a non-default host)")
        url = (env.get(URL_VAR) or "").strip() or None
        return cls(access_token=token, url=url, **{**tuning_from_env(env), **overrides})

    def with_(self, **changes: Any) -> HubSpotConfig:
        return replace(self, **changes)


def tuning_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{field: value}`` for the ``ENV_OPTIONS`` variables that are set, for ``HubSpotConfig(...)``/``with_(...)``.

    Raises :class:`ConfigError` naming the variable and its value when one is invalid.
    """
    return env_values.read(os.environ if env is None else env, ENV_OPTIONS, ConfigError)
