"""Fault injection for the CRM simulator: what to break, on which endpoint, how often.

A :class:`Fault` matches requests by route name (glob, e.g. ``"sf.query*"`` or ``"hs.search"``).
It lets ``after`` matching requests through, then fires ``times`` times (``None`` = forever) with
``probability``. Kinds:

Short-circuit kinds (the request never reaches the handler; the API renders the error body):
  ``status``                 HTTP ``status`` (500, 503, ...) with the API's usual error body
  ``rate_limit``             HubSpot 429, ``policy`` TEN_SECONDLY_ROLLING (default), DAILY or SECONDLY;
                             a ``Retry-After`` header only when ``retry_after`` is set
  ``request_limit``          Salesforce 403 REQUEST_LIMIT_EXCEEDED
  ``session_expired``        401 INVALID_SESSION_ID (Salesforce) / EXPIRED_AUTHENTICATION (HubSpot);
                             the token is revoked, so only a fresh login recovers
  ``invalid_query_locator``  Salesforce 400 INVALID_QUERY_LOCATOR on a query-more request
  ``concurrent_limit``       Salesforce 403 REQUEST_LIMIT_EXCEEDED for the concurrent long-running request limit
  ``query_timeout``          Salesforce 400 QUERY_TIMEOUT (the query ran too long)

Response kinds (the handler runs, then its response is damaged on the way out):
  ``slow``          sleep ``delay`` seconds before answering
  ``reset``         send the headers and half the body, then reset the connection
  ``truncated``     a complete HTTP response whose JSON body is cut in half
  ``bad_json``      a body that is not JSON at all
  ``nan``           a body with a bare ``NaN`` where a number belongs
  ``duplicate_keys`` a JSON object that repeats a key with a different value
  ``drop_next``     Salesforce: ``done: false`` without ``nextRecordsUrl``
  ``search_lag``    HubSpot search hides records changed in the last ``delay`` simulated seconds
  ``huge``          Salesforce: the body padded with whitespace to ``HUGE_BODY_BYTES`` (still valid JSON)
  ``repeat_record`` Salesforce: a query-more page starts with the last record of the page before it
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

SHORT_CIRCUIT_KINDS = frozenset({"status", "rate_limit", "request_limit", "session_expired", "invalid_query_locator",
                                 "concurrent_limit", "query_timeout"})
RESPONSE_KINDS = frozenset(
    {"slow", "reset", "truncated", "bad_json", "nan", "duplicate_keys", "drop_next", "search_lag", "huge",
     "repeat_record"}
)
HUGE_BODY_BYTES = 4 * 1024 * 1024
KINDS = SHORT_CIRCUIT_KINDS | RESPONSE_KINDS


@dataclass
class Fault:
    kind: str
    endpoint: str = "*"
    status: int | None = None
    after: int = 0
    times: int | None = 1
    probability: float = 1.0
    delay: float = 0.0
    policy: str = "TEN_SECONDLY_ROLLING"
    retry_after: float | None = None
    fired: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.kind == "status" and not self.status:
            raise ValueError("a 'status' fault needs status=<HTTP code>")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Fault:
        allowed = {"kind", "endpoint", "status", "after", "times", "probability", "delay", "policy", "retry_after"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; allowed: {sorted(allowed)}")
        return cls(**spec)


@dataclass
class FaultPlan:
    """A thread-safe, seeded list of faults; tests add and clear faults while the server runs."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def add(self, kind: str, endpoint: str = "*", **kwargs: Any) -> Fault:
        fault = Fault(kind=kind, endpoint=endpoint, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def match(self, route_name: str, *, kinds: frozenset[str] = KINDS) -> Fault | None:
        """The first live fault for this route among ``kinds``, consuming one firing if it fires."""
        with self._lock:
            for fault in self.faults:
                if fault.kind not in kinds or fault.exhausted:
                    continue
                if not fnmatch.fnmatchcase(route_name, fault.endpoint):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                return fault
        return None

    def active(self, kind: str, route_name: str) -> Fault | None:
        """A live fault of ``kind`` for this route without consuming it (for standing conditions)."""
        with self._lock:
            for fault in self.faults:
                if fault.kind == kind and not fault.exhausted and fnmatch.fnmatchcase(route_name, fault.endpoint):
                    return fault
        return None
