"""The simulated Salesforce org: REST (query, describe, records, limits), logins and Bulk API 2.0.

Wire details follow crm_api_wire.md Part A so that simple-salesforce 1.12.10 works unchanged. Error
bodies are always the JSON array ``[{"message","errorCode"}]``; every authenticated request counts
against the daily allowance reported in ``Sforce-Limit-Info``.

Test knobs on the instance (``sim.salesforce.plugin``): :meth:`SalesforceApi.hard_delete` removes records
and writes them to the delete log that ``getDeleted`` serves (kept ``recycle_bin_days``);
:meth:`SalesforceApi.purge_delete_log` empties it early (then ``INVALID_REPLICATION_DATE``);
``query_timeout_rows`` answers QUERY_TIMEOUT to queries matching more rows; ``concurrent_limit`` answers
403 REQUEST_LIMIT_EXCEEDED (concurrent) above that many requests in flight, ``handler_delay`` makes every
authenticated request that slow, and ``max_inflight`` records the most requests seen in flight at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ...dataset.store import Dataset, quote_ident, sf_format_datetime, sf_parse_datetime
from ..faults import HUGE_BODY_BYTES, Fault, FaultPlan
from ..http import ApiPlugin, HttpError, Request, Response, Route
from ..settings import SalesforceSettings
from . import describe, soql
from .auth import LoginService, TokenRegistry, bearer_token, oauth_error, session_expired, soap_fault
from .bulk2 import Bulk2Jobs
from .cursors import Cursor, CursorStore, Snapshots, invalid_locator
from .query import compile_query, render_record
from .schema import Schema
from .usage import ApiUsage

_V = r"/services/data/v(?P<v>\d{1,3}\.\d)"
_OBJ = r"(?P<obj>[A-Za-z][A-Za-z0-9_]*)"
MIN_BATCH, MAX_BATCH = 200, 2000
LOGIN_ROUTES = frozenset({"sf.login.soap", "sf.login.oauth", "sf.versions"})
DEFAULT_USER_ID = "0055g000000SimUAA"
REPLICATION_WINDOW_DAYS = 30
DELETE_LOG = "sfsim.delete_log"
CONCURRENT_LIMIT_MESSAGE = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
API_VERSIONS = ("55.0", "56.0", "57.0", "58.0", "59.0", "60.0", "61.0", "62.0")


class SalesforceApi(ApiPlugin):
    name = "salesforce"

    def __init__(self, dataset: Dataset, settings: SalesforceSettings, faults: FaultPlan) -> None:
        self.dataset = dataset
        self.settings = settings
        self.faults = faults
        self.schema = Schema(dataset)
        self.tokens = TokenRegistry(settings)
        self.usage = ApiUsage(settings.daily_api_max)
        self.login = LoginService(settings, self.tokens, self._user_id())
        self.snapshots = Snapshots(dataset)
        self.cursors = CursorStore(self.snapshots, settings.query_locator_ttl_seconds)
        self.bulk = Bulk2Jobs(dataset, self.snapshots, settings.recycle_bin_days,
                              settings.bulk_job_polls_before_complete, self.login.user_id)
        self.query_timeout_rows: int | None = None
        self.concurrent_limit: int | None = None
        self.handler_delay = 0.0
        self.inflight = 0
        self.max_inflight = 0
        self._gauge = threading.Lock()
        self._log_purged_before: datetime | None = None
        with dataset.lock:  # Snapshots created the schema; simulators sharing a dataset share the log
            dataset.con.execute(f"CREATE TABLE IF NOT EXISTS {DELETE_LOG} "
                                "(object VARCHAR, id VARCHAR, deleted_date TIMESTAMP)")

    @property
    def base_url(self) -> str:
        return self.login.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:  # set by the server once its port is known
        self.login.base_url = value

    def routes(self) -> list[Route]:
        return [
            Route("POST", r"/services/Soap/u/(?P<v>\d{1,3}\.\d)/?", "sf.login.soap", self._soap_login, auth=False),
            Route("POST", r"/services/oauth2/token/?", "sf.login.oauth", self._oauth_token, auth=False),
            Route("GET", r"/services/data/?", "sf.versions", self._versions, auth=False),
            Route("GET", _V + r"/query/?", "sf.query", self._query),
            Route("GET", _V + r"/queryAll/?", "sf.query_all", self._query_all),
            Route("GET", _V + r"/(?P<kind>query|queryAll)/(?P<loc>[^/]+?)/?", "sf.query_more", self._query_more),
            Route("GET", _V + r"/sobjects/?", "sf.sobjects", self._sobjects),
            Route("GET", _V + rf"/sobjects/{_OBJ}/describe/?", "sf.describe", self._describe),
            Route("GET", _V + rf"/sobjects/{_OBJ}/updated/?", "sf.updated", self._updated),
            Route("GET", _V + rf"/sobjects/{_OBJ}/deleted/?", "sf.deleted", self._deleted),
            Route("GET", _V + rf"/sobjects/{_OBJ}/?", "sf.sobject", self._sobject),
            Route("GET", _V + rf"/sobjects/{_OBJ}/(?P<id>[A-Za-z0-9]{{15,18}})/?", "sf.record", self._record),
            Route("GET", _V + r"/limits/?", "sf.limits", self._limits),
            Route("POST", _V + r"/jobs/query/?", "sf.bulk2.create", self._bulk_create),
            Route("GET", _V + r"/jobs/query/(?P<job>\w+)/?", "sf.bulk2.status", self._bulk_status),
            Route("GET", _V + r"/jobs/query/(?P<job>\w+)/results/?", "sf.bulk2.results", self._bulk_results),
            Route("PATCH", _V + r"/jobs/query/(?P<job>\w+)/?", "sf.bulk2.abort", self._bulk_abort),
            Route("DELETE", _V + r"/jobs/query/(?P<job>\w+)/?", "sf.bulk2.delete", self._bulk_delete),
        ]

    # -- plugin hooks ---------------------------------------------------------------------------
    def error(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response.json([{"message": message, "errorCode": code, **extra}], status=status)

    def authenticate(self, request: Request, route: Route) -> None:
        self.tokens.check(bearer_token(request))
        self.usage.consume()
        with self._gauge:
            if self.concurrent_limit is not None and self.inflight >= self.concurrent_limit:
                raise HttpError(403, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_LIMIT_MESSAGE)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        request.inflight = True  # type: ignore[attr-defined]  # released in decorate()
        if self.handler_delay:
            time.sleep(self.handler_delay)

    def fault_response(self, fault: Fault, request: Request, route: Route) -> Response:
        if fault.kind == "status":
            status = fault.status or 500
            code = "SERVER_UNAVAILABLE" if status == 503 else "UNKNOWN_EXCEPTION"
            message = f"Injected HTTP {status}"
            if route.name == "sf.login.soap":
                return soap_fault(code, message, status=status)
            if route.name == "sf.login.oauth":
                return oauth_error(code.lower(), message, status=status)
            return self.error(status, code, message)
        if fault.kind == "request_limit":
            return self.error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault.kind == "session_expired":
            self.tokens.revoke(bearer_token(request))
            exc = session_expired()
            return self.error(exc.status, exc.code, exc.message)
        if fault.kind == "invalid_query_locator":
            return self.error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if fault.kind == "concurrent_limit":
            return self.error(403, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_LIMIT_MESSAGE)
        if fault.kind == "query_timeout":
            return self.error(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        return super().fault_response(fault, request, route)

    def mutate(self, fault: Fault, request: Request, route: Route, response: Response) -> Response:
        if response.status != 200:
            return response
        if fault.kind == "huge":
            padding = b" " * max(0, HUGE_BODY_BYTES - len(response.body))
            return Response(response.status, response.body + padding, dict(response.headers))
        if fault.kind == "repeat_record" and route.name == "sf.query_more":
            return self._repeat_record(request, response)
        if fault.kind != "drop_next" or not route.name.startswith("sf.query"):
            return response
        body = json.loads(response.body)
        if isinstance(body, dict) and "done" in body:
            body["done"] = False
            body.pop("nextRecordsUrl", None)
            return Response.json(body, response.status, {k: v for k, v in response.headers.items()
                                                         if k.lower() != "content-type"})
        return response

    def _repeat_record(self, request: Request, response: Response) -> Response:
        """This query-more page with the previous page's last record put in front (a record on two pages)."""
        locator, _, offset = request.path.rstrip("/").rsplit("/", 1)[-1].rpartition("-")
        try:
            cursor = self.cursors.get(locator)
        except HttpError:
            return response
        earlier = [o for o in cursor.tails if o < int(offset)]
        if not earlier:
            return response
        body = json.loads(response.body)
        body["records"].insert(0, cursor.tails[max(earlier)])
        return Response.json(body, response.status, {k: v for k, v in response.headers.items()
                                                     if k.lower() != "content-type"})

    def decorate(self, request: Request, route: Route, response: Response) -> None:
        if getattr(request, "inflight", False):
            with self._gauge:
                self.inflight -= 1
            request.inflight = False  # type: ignore[attr-defined]
        if route.name not in LOGIN_ROUTES:
            response.headers["Sforce-Limit-Info"] = self.usage.header()

    # -- logins -----------------------------------------------------------------------------------
    def _soap_login(self, request: Request, m: re.Match[str]) -> Response:
        return self.login.soap_login(request, m["v"])

    def _oauth_token(self, request: Request, m: re.Match[str]) -> Response:
        return self.login.oauth_token(request)

    def _versions(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS])

    # -- query --------------------------------------------------------------------------------------
    def _query(self, request: Request, m: re.Match[str]) -> Response:
        return self._run_query(request, m["v"], include_deleted=False)

    def _query_all(self, request: Request, m: re.Match[str]) -> Response:
        return self._run_query(request, m["v"], include_deleted=True)

    def _run_query(self, request: Request, version: str, include_deleted: bool) -> Response:
        text = request.param("q")
        if not text or not text.strip():
            raise HttpError(400, "MALFORMED_QUERY", "A query string has to be specified")
        plan = compile_query(self.dataset, soql.parse(text), include_deleted=include_deleted,
                             recycle_bin_days=self.settings.recycle_bin_days)
        if plan.is_count:
            with self.dataset.reading() as cur:
                total = cur.execute(plan.count_sql, plan.params).fetchall()[0][0]
            return Response.json({"totalSize": total, "done": True, "records": []})
        cursor = self.cursors.open(plan, include_deleted)
        if self.query_timeout_rows is not None and cursor.total > self.query_timeout_rows:
            self.cursors.close(cursor)  # "ran too long": only a narrower query gets through
            raise HttpError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        response = self._page(cursor, 0, self._batch_size(request), version)
        if cursor.exhausted:  # everything fit in one page: no locator was handed out
            self.cursors.close(cursor)
        return response

    def _query_more(self, request: Request, m: re.Match[str]) -> Response:
        locator, sep, offset_text = m["loc"].rpartition("-")
        if not sep or not offset_text.isdigit():
            raise invalid_locator(m["loc"])
        cursor = self.cursors.get(locator)
        offset = int(offset_text)
        if offset > cursor.total:
            raise invalid_locator(m["loc"])
        return self._page(cursor, offset, self._batch_size(request), m["v"])

    def _page(self, cursor: Cursor, offset: int, size: int, version: str) -> Response:
        rows = self.cursors.page(cursor, offset, size)
        end = offset + len(rows)
        body: dict[str, Any] = {"totalSize": cursor.total, "done": end >= cursor.total}
        if end < cursor.total:  # nextRecordsUrl exists exactly when done is false (trap 2)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor.locator}-{end}"
        body["records"] = [render_record(cursor.plan.root, row, version) for row in rows]
        if body["records"]:
            cursor.tails[offset] = body["records"][-1]
        return Response.json(body)

    def _batch_size(self, request: Request) -> int:
        options = request.header("sforce-query-options") or ""
        match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
        size = int(match.group(1)) if match else self.settings.default_batch_size
        return max(MIN_BATCH, min(MAX_BATCH, size))

    # -- describe and records -----------------------------------------------------------------------
    def _object(self, name: str) -> str:
        obj = self.schema.object_name(name)
        if obj is None:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def _sobjects(self, request: Request, m: re.Match[str]) -> Response:
        return Response.json(describe.global_describe(self.dataset.sf_describe, m["v"]))

    def _describe(self, request: Request, m: re.Match[str]) -> Response:
        obj = self._object(m["obj"])
        return Response.json(describe.object_describe(self.dataset.sf_describe[obj], m["v"]))

    def _sobject(self, request: Request, m: re.Match[str]) -> Response:
        obj = self._object(m["obj"])
        return Response.json(describe.object_metadata(self.dataset.sf_describe[obj], m["v"]))

    def _record(self, request: Request, m: re.Match[str]) -> Response:
        obj = self._object(m["obj"])
        wanted = request.params("fields") or [f["name"] for f in self.dataset.sf_describe[obj]["fields"]]
        bad = [w for w in wanted if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", w.strip())]
        if bad:
            raise HttpError(400, "INVALID_FIELD", f"No such column '{bad[0]}' on entity '{obj}'")
        wanted = [w.strip() for w in wanted]
        has_deleted = self.schema.has_field(obj, "IsDeleted")
        names = list(dict.fromkeys([*wanted, *(["IsDeleted"] if has_deleted else [])]))
        text = f"SELECT {', '.join(names)} FROM {obj} WHERE Id = '{m['id']}'"  # the id is [A-Za-z0-9] only
        plan = compile_query(self.dataset, soql.parse(text), include_deleted=True,
                             recycle_bin_days=self.settings.recycle_bin_days)
        with self.dataset.reading() as cur:
            rows = cur.execute(plan.sql, plan.params).fetchall()
        if not rows:
            raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
        record = render_record(plan.root, rows[0], m["v"]) or {}
        if has_deleted and record.get("IsDeleted"):
            raise HttpError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if "IsDeleted" not in wanted:
            record.pop("IsDeleted", None)
        return Response.json(record)

    # -- replication (updated/deleted) ------------------------------------------------------------
    def _window(self, request: Request) -> tuple[Any, Any]:
        try:
            start = sf_parse_datetime(request.param("start") or "")
            end = sf_parse_datetime(request.param("end") or "")
        except ValueError:
            raise HttpError(400, "INVALID_REPLICATION_DATE", "start and end must be ISO-8601 datetimes") from None
        now = self.dataset.clock.astimezone(UTC).replace(tzinfo=None)
        if end <= start:
            raise HttpError(400, "INVALID_REPLICATION_DATE", "end date must be after start date")
        if start < now - timedelta(days=REPLICATION_WINDOW_DAYS):
            raise HttpError(400, "INVALID_REPLICATION_DATE",
                            f"startDate cannot be more than {REPLICATION_WINDOW_DAYS} days ago")
        return start, min(end, now)

    def _updated(self, request: Request, m: re.Match[str]) -> Response:
        obj = self._object(m["obj"])
        start, end = self._window(request)
        sql = f'SELECT "Id" FROM {self.dataset.sf_table(obj)} WHERE "SystemModstamp" >= ? AND "SystemModstamp" < ?'
        if self.schema.has_field(obj, "IsDeleted"):
            sql += ' AND "IsDeleted" IS NOT TRUE'
        with self.dataset.reading() as cur:
            ids = [r[0] for r in cur.execute(sql + ' ORDER BY "Id"', [start, end]).fetchall()]
        return Response.json({"ids": ids, "latestDateCovered": sf_format_datetime(end)})

    def _deleted(self, request: Request, m: re.Match[str]) -> Response:
        """getDeleted: recycle-bin rows plus the delete log (hard deletes), within the log's retention.

        A start before the retention (``recycle_bin_days``) is answered from ``earliestDateAvailable``; a start
        before an early purge (:meth:`purge_delete_log`) is 400 INVALID_REPLICATION_DATE.
        """
        obj = self._object(m["obj"])
        start, end = self._window(request)
        earliest = self._delete_log_start()
        if self._log_purged_before and start < self._log_purged_before:  # purged early: the log has a hole
            raise HttpError(400, "INVALID_REPLICATION_DATE",
                            f"startDate is before earliestDateAvailable {sf_format_datetime(earliest)}")
        start = max(start, earliest)  # beyond the retention: served from earliestDateAvailable, which says so
        rows: list[tuple[Any, Any]] = []
        with self.dataset.reading() as cur:
            if self.schema.has_field(obj, "IsDeleted"):
                stamp = quote_ident("SystemModstamp")
                rows += cur.execute(
                    f'SELECT "Id", {stamp} FROM {self.dataset.sf_table(obj)} WHERE "IsDeleted" IS TRUE '
                    f"AND {stamp} >= ? AND {stamp} <= ?", [start, end]).fetchall()
            rows += cur.execute(f"SELECT id, deleted_date FROM {DELETE_LOG} WHERE object = ? AND deleted_date >= ? "
                                "AND deleted_date <= ?", [obj, start, end]).fetchall()
        rows.sort(key=lambda r: (r[1], r[0]))
        records = [{"id": r[0], "deletedDate": sf_format_datetime(r[1])} for r in rows]
        return Response.json({"deletedRecords": records, "earliestDateAvailable": sf_format_datetime(earliest),
                              "latestDateCovered": sf_format_datetime(end)})

    def _delete_log_start(self) -> datetime:
        now = self.dataset.clock.astimezone(UTC).replace(tzinfo=None)
        earliest = now - timedelta(days=self.settings.recycle_bin_days)
        return max(earliest, self._log_purged_before) if self._log_purged_before else earliest

    def hard_delete(self, obj: str, ids: list[str], at: datetime | None = None) -> None:
        """Delete records for good (bypassing the recycle bin) and log them for getDeleted at ``at``."""
        when = (at or self.dataset.clock).astimezone(UTC).replace(tzinfo=None)
        with self.dataset.lock:
            self.dataset.con.executemany(f"INSERT INTO {DELETE_LOG} VALUES (?, ?, ?)", [[obj, i, when] for i in ids])
            self.dataset.con.execute(f'DELETE FROM {self.dataset.sf_table(obj)} WHERE list_contains(?, "Id")', [ids])

    def purge_delete_log(self, before: datetime | None = None) -> None:
        """Purge the delete log up to ``before`` (default: now), as Salesforce does when it grows too large."""
        cut = (before or self.dataset.clock).astimezone(UTC).replace(tzinfo=None)
        self._log_purged_before = cut
        with self.dataset.lock:
            self.dataset.con.execute(f"DELETE FROM {DELETE_LOG} WHERE deleted_date < ?", [cut])

    # -- limits -----------------------------------------------------------------------------------
    def _limits(self, request: Request, m: re.Match[str]) -> Response:
        jobs_max = 10_000
        return Response.json({
            "DailyApiRequests": {"Max": self.usage.daily_max, "Remaining": self.usage.remaining},
            "DailyBulkV2QueryJobs": {"Max": jobs_max, "Remaining": max(0, jobs_max - self.bulk.created_count)},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976_562, "Remaining": 976_562},
            "DataStorageMB": {"Max": 1_024, "Remaining": 1_000},
            "FileStorageMB": {"Max": 2_048, "Remaining": 2_048},
        })

    # -- Bulk API 2.0 -------------------------------------------------------------------------------
    def _bulk_create(self, request: Request, m: re.Match[str]) -> Response:
        return self.bulk.create(request, m["v"])

    def _bulk_status(self, request: Request, m: re.Match[str]) -> Response:
        return self.bulk.status(m["job"])

    def _bulk_results(self, request: Request, m: re.Match[str]) -> Response:
        return self.bulk.results(request, m["job"])

    def _bulk_abort(self, request: Request, m: re.Match[str]) -> Response:
        return self.bulk.abort(request, m["job"])

    def _bulk_delete(self, request: Request, m: re.Match[str]) -> Response:
        return self.bulk.delete(m["job"])

    # -- helpers ----------------------------------------------------------------------------------
    def _user_id(self) -> str:
        """The logged-in user: the first User the dataset serves, if any."""
        if "User" not in self.dataset.sf_describe:
            return DEFAULT_USER_ID
        with self.dataset.reading() as cur:
            row = cur.execute(f'SELECT min("Id") FROM {self.dataset.sf_table("User")}').fetchall()
        return row[0][0] or DEFAULT_USER_ID
