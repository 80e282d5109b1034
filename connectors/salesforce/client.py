"""A simple-salesforce client wrapped with the behaviour the library lacks (crm_api_wire.md §A2.4, §A7).

* Retries 5xx, connection errors (including resets mid-body) and malformed/truncated bodies with capped
  exponential backoff and jitter (:class:`RetryPolicy`; tests pass tiny delays).
* 401 INVALID_SESSION_ID: simple-salesforce re-logs in by itself for login flows on REST calls; Bulk 2.0 calls
  never do, so :meth:`SalesforceClient.call` re-authenticates once and retries. A direct session cannot be
  refreshed: that stops with :class:`~.errors.SessionExpiredError`.
* 403 REQUEST_LIMIT_EXCEEDED -> :class:`~.errors.RequestLimitExceeded` (a clean stop).
* Every response's ``Sforce-Limit-Info`` and ``Date`` are read by a session hook: the quota guard stops before
  this run uses ``quota_share`` of the daily allowance, and ``server_now()`` is Salesforce's clock, not ours.
* 403 REQUEST_LIMIT_EXCEEDED for *concurrent* long-running requests is retried with backoff (the daily limit is
  not); at most ``max_concurrent`` requests of one client are in flight at once.
* 400 QUERY_TIMEOUT -> :class:`~.errors.QueryTimeout` (the sync narrows its window; retrying as is would not help).
* Untrusted JSON is parsed strictly (:func:`strict_pairs`: duplicate keys and NaN/Infinity are errors) and
  bodies over ``max_response_bytes`` are refused (:class:`~.errors.InvalidResponse`) before they are read.
* Sessions: re-login is ours, not simple-salesforce's (which retries a 401 up to four times on REST and never
  on Bulk): one re-login per request, and proactively once a session is ``session_refresh_after`` seconds old.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)

from connectors.clients import salesforce_client

from .config import SalesforceConfig
from .errors import (
    BulkJobFailed,
    IncompletePage,
    InvalidResponse,
    QueryLocatorExpired,
    QueryTimeout,
    QuotaGuardStop,
    RequestLimitExceeded,
    SessionExpiredError,
    TransientError,
    redact,
)

log = logging.getLogger("acctwh.salesforce")
T = TypeVar("T")
_LIMIT_RE = re.compile(r"api-usage=(\d+)/(\d+)")
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ValueError,  # JSONDecodeError (truncated / not JSON), CSV parse errors
    IncompletePage,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5  # share of each delay that is randomised

    def delay(self, attempt: int) -> float:
        """Capped exponential backoff with jitter for retry number ``attempt`` (0-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** attempt))
        return cap * (1 - self.jitter) + random.uniform(0, cap * self.jitter)


def strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing duplicate keys and NaN/Infinity (the stdlib accepts both silently).

    Numbers are parsed as Decimal (``parse_float``), so a float here can only come from a NaN/Infinity literal.
    Raises ValueError, which the client treats like any malformed body (retried, then the object fails).
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"malformed JSON: duplicate key {key!r}")
        values = value if isinstance(value, list) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ValueError(f"malformed JSON: non-finite number in {key!r}")
        out[key] = value
    return out


def _error_field(exc: Exception, name: str) -> str | None:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get(name)
    if isinstance(content, dict):
        return content.get(name)
    return None


def error_code(exc: Exception) -> str | None:
    """The ``errorCode`` of a simple-salesforce exception's JSON body, if any."""
    return _error_field(exc, "errorCode")


def is_concurrent_limit(exc: Exception) -> bool:
    """403 REQUEST_LIMIT_EXCEEDED for the concurrent long-running request limit (not the daily allowance)."""
    return "concurrent" in str(_error_field(exc, "message") or "").lower()


class SalesforceClient:
    """``sf`` (a simple-salesforce ``Salesforce``) plus retries, re-login, server clock and quota guard."""

    def __init__(self, sf: Salesforce, *, retry: RetryPolicy | None = None, quota_share: float = 0.5,
                 secrets: list[str] | None = None, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 120.0, session_refresh_after: float | None = None, max_concurrent: int = 2,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sf = sf
        self.retry = retry or RetryPolicy()
        self.quota_share = quota_share
        self.secrets = secrets or []
        self.sleep = sleep
        self.timeout = timeout
        self.session_refresh_after = session_refresh_after
        self.max_response_bytes = max_response_bytes
        self.clock = clock
        self.api_calls = 0
        self.api_used: int | None = None
        self.api_max: int | None = None
        self.api_used_at_start: int | None = None
        self.retries = 0
        self.relogins = 0
        self.proactive_refreshes = 0
        self._server_date: datetime | None = None
        self._server_date_mono = 0.0
        self._lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        # simple-salesforce would re-login up to 4 times per REST call and never for Bulk 2.0: take it over
        self._login: Callable[[], tuple[str, str]] | None = getattr(sf, "_salesforce_login_partial", None)
        sf._salesforce_login_partial = None
        self._session_started = clock()
        sf.session.hooks.setdefault("response", []).append(self._on_response)
        self._default_timeout(sf.session)

    def _default_timeout(self, session: requests.Session) -> None:
        """Give every request (Bulk 2.0 calls pass none) a read timeout: a hung socket must fail, not wait forever."""
        send = session.request

        def request(method: str, url: str, **kwargs: Any) -> requests.Response:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self.timeout
            return send(method, url, **kwargs)

        session.request = request  # type: ignore[method-assign]

    # -- response hook: counters, quota and clock ------------------------------------------------
    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._count(response)
        size = response.headers.get("Content-Length")
        if size and size.isdigit() and int(size) > self.max_response_bytes:
            response.close()  # never read it: a body this size is refused, not parsed
            path = requests.utils.urlparse(response.url).path
            raise InvalidResponse(f"response from {path} is {int(size):,} bytes, over the "
                                  f"{self.max_response_bytes:,}-byte cap; refused")

    def _count(self, response: requests.Response) -> None:
        with self._lock:
            self.api_calls += 1
            info = response.headers.get("Sforce-Limit-Info")
            m = _LIMIT_RE.search(info or "")
            if m:
                self.api_used, self.api_max = int(m.group(1)), int(m.group(2))
                if self.api_used_at_start is None:
                    self.api_used_at_start = self.api_used - 1
            date = response.headers.get("Date")
            if date:
                try:
                    parsed = email.utils.parsedate_to_datetime(date)
                except (TypeError, ValueError):
                    parsed = None
                if parsed is not None:
                    self._server_date = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
                    self._server_date_mono = time.monotonic()

    def server_now(self) -> datetime:
        """Salesforce's clock: the last ``Date`` header plus the time elapsed since (wall clock if none yet)."""
        with self._lock:
            if self._server_date is None:
                return datetime.now(UTC)
            return self._server_date + timedelta(seconds=time.monotonic() - self._server_date_mono)

    @property
    def run_api_used(self) -> int:
        if self.api_used is None or self.api_used_at_start is None:
            return 0
        return self.api_used - self.api_used_at_start

    def check_quota(self) -> None:
        """Raise :class:`QuotaGuardStop` once this run used ``quota_share`` of the daily allowance."""
        if self.api_max and self.quota_share < 1.0 and self.run_api_used >= self.quota_share * self.api_max:
            raise QuotaGuardStop(
                f"quota guard: this run used {self.run_api_used} of {self.api_max} daily API requests "
                f"(limit {self.quota_share:.0%} per run); stopping cleanly, the next run resumes")

    # -- calls -------------------------------------------------------------------------------------
    @property
    def auth_type(self) -> str:
        return getattr(self.sf, "auth_type", "direct") or "direct"

    @property
    def can_relogin(self) -> bool:
        return self._login is not None

    def relogin(self, why: str) -> None:
        """Log in again with the configured flow (credentials never reach a message)."""
        if self._login is None:
            raise SessionExpiredError(
                f"{why}: the Salesforce session is invalid or expired (INVALID_SESSION_ID) and a direct "
                "session (SALESFORCE_SESSION_ID) cannot be refreshed; supply a new session id or "
                "configure a login flow")
        with self._auth_lock:
            try:
                self.sf.session_id, self.sf.sf_instance = self._login()
            except SalesforceAuthenticationFailed as exc:
                raise SessionExpiredError(redact(f"{why}: re-login failed: {exc}", self.secrets)) from None
            except requests.RequestException as exc:
                raise TransientError(f"{why}: re-login failed: {type(exc).__name__}") from None
            self.sf._generate_headers()
            self._session_started = self.clock()

    def _refresh_if_old(self, what: str) -> None:
        """Re-login before a session of known lifetime expires (the 401 path stays as the safety net)."""
        if self.session_refresh_after is None or self._login is None:
            return
        if self.clock() - self._session_started >= self.session_refresh_after:
            self.proactive_refreshes += 1
            log.info("salesforce: session is %.0fs old; re-logging in before %s",
                     self.clock() - self._session_started, what)
            self.relogin(f"{what} (proactive session refresh)")

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one API request plus its validation) with retries, re-login and the quota guard."""
        attempt = 0
        relogged = False
        while True:
            self.check_quota()
            self._refresh_if_old(what)
            try:
                with self._slots:
                    return fn()
            except SalesforceRefusedRequest as exc:
                if error_code(exc) == "REQUEST_LIMIT_EXCEEDED":
                    if is_concurrent_limit(exc):  # too many long-running requests org-wide: wait, then retry
                        attempt = self._backoff(what, attempt, "concurrent request limit")
                        continue
                    raise RequestLimitExceeded(f"{what}: Salesforce refused the request with REQUEST_LIMIT_EXCEEDED "
                                               "(API limit reached); stopping cleanly") from None
                raise
            except SalesforceExpiredSession:
                if self._login is None:
                    self.relogin(what)  # raises the "cannot be refreshed" error
                if relogged:
                    raise SessionExpiredError(f"{what}: still INVALID_SESSION_ID after re-authenticating once; "
                                              "check the integration user's session settings") from None
                relogged = True
                self.relogins += 1
                log.info("salesforce: %s got INVALID_SESSION_ID; re-authenticating once", what)
                self.relogin(what)
            except SalesforceMalformedRequest as exc:
                code = error_code(exc)
                if code == "INVALID_QUERY_LOCATOR":
                    raise QueryLocatorExpired(f"{what}: INVALID_QUERY_LOCATOR") from None
                if code == "QUERY_TIMEOUT":
                    raise QueryTimeout(f"{what}: QUERY_TIMEOUT") from None
                raise
            except SalesforceOperationError as exc:
                raise BulkJobFailed(redact(f"{what}: {exc}", self.secrets)) from None
            except SalesforceGeneralError as exc:
                if exc.status < 500 and exc.status != 429:
                    raise
                attempt = self._backoff(what, attempt, f"HTTP {exc.status}")
            except RETRYABLE_EXCEPTIONS as exc:
                detail = type(exc).__name__
                if isinstance(exc, ValueError):  # malformed body: say why (positions and key names only)
                    detail += f": {str(exc)[:200]}"
                attempt = self._backoff(what, attempt, redact(detail, self.secrets))

    def _backoff(self, what: str, attempt: int, reason: str) -> int:
        if attempt + 1 >= self.retry.max_attempts:
            raise TransientError(f"{what}: gave up after {attempt + 1} attempts (last error: {reason})")
        delay = self.retry.delay(attempt)
        self.retries += 1
        log.warning("salesforce: %s failed (%s); retry %d in %.2fs", what, reason, attempt + 1, delay)
        self.sleep(delay)
        return attempt + 1

    # -- helpers -----------------------------------------------------------------------------------
    def bulk2(self, obj: str) -> Any:
        """A fresh Bulk 2.0 client for ``obj`` (built per call, so it carries the current session id)."""
        return getattr(self.sf.bulk2, obj)._client

    def describe_global(self) -> dict[str, Any]:
        return self.call("describe", lambda: self.sf.describe(timeout=self.timeout))

    def describe(self, obj: str) -> dict[str, Any]:
        return self.call(f"{obj} describe", lambda: self.sf.restful(f"sobjects/{obj}/describe", timeout=self.timeout))


def connect(config: SalesforceConfig, *, retry: RetryPolicy | None = None, quota_share: float = 0.5,
            sleep: Callable[[float], None] = time.sleep, timeout: float = 120.0,
            session_refresh_after: float | None = None, max_concurrent: int = 2,
            max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> SalesforceClient:
    """Log in with ``config``'s flow and return a :class:`SalesforceClient` (login failures are redacted)."""
    from decimal import Decimal

    try:
        sf = salesforce_client(config.url or "", parse_float=Decimal, object_pairs_hook=strict_pairs,
                               **config.auth_kwargs())
    except SalesforceAuthenticationFailed as exc:
        raise SessionExpiredError(redact(f"Salesforce login ({config.flow}) failed: {exc}", config.secrets())) from None
    except requests.RequestException as exc:
        raise TransientError(redact(f"Salesforce login ({config.flow}) failed: {type(exc).__name__}: {exc}",
                                    config.secrets())) from None
    return SalesforceClient(sf, retry=retry, quota_share=quota_share, secrets=config.secrets(), sleep=sleep,
                            timeout=timeout, session_refresh_after=session_refresh_after,
                            max_concurrent=max_concurrent, max_response_bytes=max_response_bytes)
