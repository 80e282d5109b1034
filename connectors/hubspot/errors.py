"""Errors of the HubSpot connector. Messages never contain the access token."""

from __future__ import annotations


class HubSpotError(Exception):
    """Base class."""


class ConfigError(HubSpotError):
    """Missing or invalid configuration (names the environment variable)."""


class ApiError(HubSpotError):
    """A non-retryable API answer (400 validation, 403 scopes, 404...)."""

    def __init__(self, endpoint: str, status: int | None, message: str, category: str | None = None) -> None:
        self.endpoint = endpoint
        self.status = status
        self.category = category
        super().__init__(f"{endpoint}: HTTP {status} {category or ''} {message}".replace("  ", " ").strip())


class AuthError(ApiError):
    """401: the private-app token is missing, invalid or revoked."""


class StopRun(HubSpotError):
    """The run must stop cleanly: everything committed so far stays, the stream ends ``partial``."""


class DailyLimitReached(StopRun):
    """429 with policyName DAILY (or the daily reserve is reached)."""


class RetriesExhausted(StopRun):
    """A transient failure (5xx, 429 burst, reset, truncated body) outlived the retry budget."""


class RequestBudgetExceeded(HubSpotError):
    """A search window needed more requests than its computed bound: refuse to loop."""


class IncompleteReadError(HubSpotError):
    """Chunked reads could not be merged by id (records vanished between requests)."""
