"""Exceptions of the Salesforce connector.

:class:`CleanStop` subclasses end a run with status ``partial``: everything loaded so far is committed and
the cursor sits at the last committed batch, so the next run resumes. Every other error fails the object.
Messages never carry secrets: :func:`redact` scrubs known secret values from any text that leaves the
connector.
"""

from __future__ import annotations

from collections.abc import Iterable


class SalesforceConnectorError(Exception):
    """Base class of every error this connector raises on purpose."""


class ConfigError(SalesforceConnectorError):
    """Missing or contradictory configuration (the message names the environment variables)."""


class CleanStop(SalesforceConnectorError):
    """Stop the run cleanly: commit what is loaded, report ``partial``, resume next run."""


class QuotaGuardStop(CleanStop):
    """This run used its configured share of the org's daily API allowance."""


class RequestLimitExceeded(CleanStop):
    """Salesforce answered 403 REQUEST_LIMIT_EXCEEDED (daily or concurrent API limit)."""


class SessionExpiredError(SalesforceConnectorError):
    """The session is invalid and cannot be refreshed (direct session id, or re-login did not help)."""


class QueryLocatorExpired(SalesforceConnectorError):
    """400 INVALID_QUERY_LOCATOR: the server-side cursor is gone; restart from the last committed cursor."""


class IncompletePage(SalesforceConnectorError):
    """A page that is structurally wrong (done:false without nextRecordsUrl, short CSV page): retried."""


class QueryTimeout(SalesforceConnectorError):
    """400 QUERY_TIMEOUT: the query ran too long; the caller narrows the SystemModstamp window instead of retrying."""


class InvalidResponse(SalesforceConnectorError):
    """A response refused by validation (over the size cap): never retried, nothing from it lands."""


class TransientError(SalesforceConnectorError):
    """Retries exhausted on 5xx / connection resets / malformed bodies."""


class BulkJobFailed(SalesforceConnectorError):
    """A Bulk API 2.0 job ended Failed or Aborted (the caller falls back to REST)."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every (non-trivial) secret value replaced by ``***``."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
