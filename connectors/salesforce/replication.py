"""The replication API's ``getDeleted`` (``GET sobjects/<Obj>/deleted/?start=..&end=..``), validated.

Between weekly Id reconciliations it is how incremental runs learn about hard-deleted and purged records,
which ``queryAll`` no longer returns. Salesforce keeps the delete log for about 15 days and may purge it
sooner: a ``start`` before ``earliestDateAvailable`` answers 400 ``INVALID_REPLICATION_DATE`` (and more than
600k ids ``EXCEEDED_ID_LIMIT``), and a response whose ``earliestDateAvailable`` is after ``start`` cannot
vouch for the whole window either; all three raise :class:`ReplicationUnavailable`, and the caller falls back
to a full Id reconciliation. The call goes through ``Salesforce.restful`` rather than ``sf.<Obj>.deleted`` because
SFType methods recurse without limit on a persistent 401 (crm_api_wire.md §A2.4); the URL is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce.exceptions import SalesforceMalformedRequest

from .client import SalesforceClient, error_code
from .errors import IncompletePage, SalesforceConnectorError

FALLBACK_CODES = frozenset({"INVALID_REPLICATION_DATE", "EXCEEDED_ID_LIMIT"})


class ReplicationUnavailable(SalesforceConnectorError):
    """getDeleted cannot cover the window (delete log purged, too many ids): reconcile Ids instead."""


@dataclass(frozen=True)
class DeletedRecords:
    ids: list[str]
    deleted_dates: list[datetime]
    latest_covered: datetime
    earliest_available: datetime | None


def iso(value: datetime) -> str:
    """``2025-06-30T00:00:00+00:00`` (what simple-salesforce's ``date_to_iso8601`` sends), floored to the minute.

    The API truncates seconds anyway; flooring here makes the window only ever wider.
    """
    value = value.astimezone(UTC).replace(second=0, microsecond=0)
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_sf_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def get_deleted(client: SalesforceClient, obj: str, start: datetime, end: datetime) -> DeletedRecords:
    """Records of ``obj`` deleted in ``[start, end]`` (validated), or :class:`ReplicationUnavailable`."""
    params = {"start": iso(start), "end": iso(end + timedelta(minutes=1))}

    def fetch() -> DeletedRecords:
        return _checked(obj, client.sf.restful(f"sobjects/{obj}/deleted/", params=params, timeout=client.timeout))

    try:
        found = client.call(f"{obj} getDeleted", fetch)
    except SalesforceMalformedRequest as exc:
        code = error_code(exc)
        if code in FALLBACK_CODES:
            raise ReplicationUnavailable(f"{obj} getDeleted from {params['start']}: {code}") from None
        raise
    if found.earliest_available is not None and found.earliest_available > parse_sf_datetime(params["start"]):
        raise ReplicationUnavailable(f"{obj} getDeleted from {params['start']}: the delete log only reaches back "
                                     f"to {found.earliest_available.isoformat()} (earliestDateAvailable)")
    return found


def _checked(obj: str, body: Any) -> DeletedRecords:
    if not isinstance(body, dict) or not isinstance(body.get("deletedRecords"), list):
        raise IncompletePage(f"{obj} getDeleted: response without a deletedRecords list")
    ids: list[str] = []
    dates: list[datetime] = []
    for i, rec in enumerate(body["deletedRecords"]):
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str) or not isinstance(rec.get("deletedDate"),
                                                                                              str):
            raise IncompletePage(f"{obj} getDeleted: deletedRecords[{i}] lacks a text id/deletedDate")
        ids.append(rec["id"])
        dates.append(parse_sf_datetime(rec["deletedDate"]))
    covered, earliest = body.get("latestDateCovered"), body.get("earliestDateAvailable")
    if not isinstance(covered, str):
        raise IncompletePage(f"{obj} getDeleted: response without latestDateCovered")
    return DeletedRecords(ids, dates, parse_sf_datetime(covered),
                          parse_sf_datetime(earliest) if isinstance(earliest, str) else None)
