"""Sync Salesforce objects into ``raw_salesforce`` through :class:`connectors.warehouse.raw.RawWarehouse`.

Per object and run (``sync_object``):

1. Describe; columns from ``salesforce_columns`` (compound fields skipped, hostile names refused and reported,
   everything else loads); ``ensure_table`` adds new columns, which are queued for backfill in the stream state.
2. Hard deletes. When due (default weekly; always on ``full_refresh``) a reconciliation: queryAll ``SELECT Id``,
   rows not returned are flagged ``_is_deleted`` by ``flag_missing_as_deleted``. Between reconciliations,
   ``getDeleted`` (:mod:`.replication`) lists records deleted since the last covered date; the ones loaded are
   merged as ``IsDeleted=true, SystemModstamp=deletedDate`` (what queryAll shows for a recycle-bin row), unless
   the loaded row is newer (undeleted since). A purged delete log (``INVALID_REPLICATION_DATE``) falls back to
   the reconciliation. Both run *before* the increment, so a record undeleted since is restored by it.
3. The increment: ``SystemModstamp >= cursor - lookback AND SystemModstamp < server_now - safety_lag`` ordered
   by ``SystemModstamp, Id`` through queryAll (soft deletes arrive with ``IsDeleted``); the first run has no
   lower bound (all history). ``SELECT COUNT()`` over the window picks Bulk API 2.0 at or above
   ``bulk_threshold`` rows, REST below. Batches of ``batch_rows`` are merged on Id; on REST each merge carries
   the stream state (cursor = max committed SystemModstamp, cursor_id = its Id) in the same transaction. Bulk
   results are not guaranteed to be ordered, so the cursor advances once the whole job is merged; the job id is
   kept in the stream state from its creation until then, so a run that dies mid-job resumes it (downloads its
   results) instead of starting over. INVALID_QUERY_LOCATOR restarts the window from the last committed cursor;
   QUERY_TIMEOUT splits the rest of the window in halves. Objects without SystemModstamp are fully re-read each
   run, then reconciled against the Ids just read.
4. Backfill of queued new columns (``SELECT Id, <new columns>``) and, when due (default daily), the formula
   snapshot (``SELECT Id, <calculated fields>``): formula values change without bumping SystemModstamp.

A clean stop (quota guard, 403 REQUEST_LIMIT_EXCEEDED) ends the object ``partial`` with everything loaded so
far committed; later objects are ``skipped``. Any other error fails only that object.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from simple_salesforce.exceptions import SalesforceResourceNotFound

from connectors import env_values
from connectors.prefetch import prefetch

from . import soql
from .client import DEFAULT_MAX_RESPONSE_BYTES, RetryPolicy, SalesforceClient, connect
from .config import SalesforceConfig
from .errors import BulkJobFailed, CleanStop, ConfigError, QueryLocatorExpired, QueryTimeout, redact
from .extract_bulk import create_job, delete_job, iter_job_pages
from .extract_rest import iter_rest_pages, rest_count
from .replication import ReplicationUnavailable, get_deleted

log = logging.getLogger("acctwh.salesforce")
SOURCE = "salesforce"
DEFAULT_OBJECTS = (
    "Account", "Contact", "User", "Opportunity", "OpportunityLineItem", "OpportunityContactRole",
    "OpportunityHistory", "Product2", "Contract", "Task", "Event",
)
MULTI_CURRENCY_OBJECTS = ("DatedConversionRate", "CurrencyType")
CURSOR = soql.CURSOR_FIELD
Progress = Callable[[str, int], None]
SPLIT_FLOOR = datetime(1999, 1, 1, tzinfo=UTC)  # lower bound when an unbounded first window must be split


@dataclass(frozen=True)
class SyncOptions:
    lookback: timedelta = timedelta(minutes=10)
    safety_lag: timedelta = timedelta(minutes=2)
    bulk_threshold: float = 50_000  # rows in the window; 0 = always Bulk, float("inf") = always REST
    batch_rows: int = 10_000  # rows per merge (one DuckDB transaction)
    rest_page_size: int = 2_000
    bulk_page_rows: int = 10_000
    prefetch_pages: int = 2  # Bulk result pages read ahead while a batch merges (0 = off)
    bulk_wait: float = 0.5  # seconds before the first Bulk job poll
    reconcile_every: timedelta | None = timedelta(days=7)  # None = never, timedelta(0) = every run
    # formula fields do not bump SystemModstamp; their snapshot re-reads every row of an object with formulas (all
    # 1.1M Tasks for IsClosed on `large`: +15 s a night), so weekly like the reconciliation
    formula_every: timedelta | None = timedelta(days=7)
    quota_share: float = 0.5  # share of the daily API allowance one run may use
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    full_refresh: bool = False
    max_locator_restarts: int = 3
    get_deleted: bool = True  # getDeleted between reconciliations (hard deletes within ~15 days)
    min_split_window: timedelta = timedelta(seconds=2)  # QUERY_TIMEOUT on a narrower window fails the object
    request_timeout: float = 120.0  # seconds per HTTP request (read timeout)
    session_refresh_after: timedelta | None = timedelta(minutes=90)  # re-login before a 2 h session times out
    max_concurrent_requests: int = 2
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> SyncOptions:
        """Defaults, then the ``SALESFORCE_*`` tuning variables that are set (``ENV_OPTIONS``), then ``overrides``.

        Raises :class:`~.errors.ConfigError` naming the variable and its value when one is invalid.
        """
        values = env_values.read(os.environ if env is None else env, ENV_OPTIONS, ConfigError)
        return cls(**{**values, **overrides})

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`.client.connect`: a caller that connects itself (and passes ``client=`` to
        :func:`sync_salesforce`) must hand these over, or the session refresh and concurrency options do nothing."""
        refresh = self.session_refresh_after
        return {"retry": self.retry, "quota_share": self.quota_share, "timeout": self.request_timeout,
                "session_refresh_after": refresh.total_seconds() if refresh else None,  # as sync_salesforce
                "max_concurrent": self.max_concurrent_requests, "max_response_bytes": self.max_response_bytes}


# SyncOptions field -> its environment variable (names and meaning in .env.example)
ENV_OPTIONS: dict[str, env_values.Duration | env_values.Count] = {
    "reconcile_every": env_values.Duration("SALESFORCE_RECONCILE_EVERY_DAYS", "days"),
    "formula_every": env_values.Duration("SALESFORCE_FORMULA_SNAPSHOT_EVERY_DAYS", "days"),
    # 0 is refused as ambiguous (timedelta(0) is falsy here = never, yet 0 s to the client = before every request)
    "session_refresh_after": env_values.Duration("SALESFORCE_SESSION_REFRESH_MINUTES", "minutes", allow_zero=False),
    "max_concurrent_requests": env_values.Count("SALESFORCE_MAX_CONCURRENT_REQUESTS"),
}


@dataclass
class SyncResult:
    object: str
    status: str = "running"  # success | partial | failed | skipped
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    api_calls: int = 0
    api_path: str = "rest"
    cursor: datetime | None = None
    duration_s: float = 0.0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    window_splits: int = 0  # QUERY_TIMEOUT window halvings
    resumed_job: str | None = None  # the Bulk job of an earlier run this run downloaded


def _warehouse_api() -> Any:
    from connectors.warehouse import columns as wcols

    return wcols


def _parse_ts(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _due(last: datetime | None, every: timedelta | None, now: datetime) -> bool:
    if every is None:
        return False
    if every <= timedelta(0):  # "every run", even when server time (Date header, 1 s resolution) reads earlier
        return True
    return last is None or now - last >= every


def _drop_collisions(obj: str, describe: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``describe`` without fields whose names collide case-insensitively (DuckDB would see one column)."""
    fields = describe.get("fields", [])
    groups: dict[str, list[str]] = {}
    for f in fields:
        if isinstance(f.get("name"), str):
            groups.setdefault(f["name"].lower(), []).append(f["name"])
    clashes = {k: v for k, v in groups.items() if len(v) > 1}
    if not clashes:
        return describe, []
    messages = [f"{' and '.join(repr(n) for n in names)} on {obj} differ only in case (DuckDB identifiers are "
                "case-insensitive); neither is loaded" for names in clashes.values()]
    kept = [f for f in fields if not (isinstance(f.get("name"), str) and f["name"].lower() in clashes)]
    return {**describe, "fields": kept}, messages


def _batches(pages: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Regroup pages into tables of about ``rows`` rows (never holding more than one batch)."""
    buffer: list[pa.Table] = []
    size = 0
    for page in pages:
        if page.num_rows == 0:
            continue
        buffer.append(page)
        size += page.num_rows
        if size >= rows:
            yield pa.concat_tables(buffer)
            buffer, size = [], 0
    if buffer:
        yield pa.concat_tables(buffer)


class _ObjectSync:
    def __init__(self, client: SalesforceClient, warehouse: Any, obj: str, options: SyncOptions,
                 now: datetime | None, progress: Progress | None, run_id: str | None = None) -> None:
        self.client, self.wh, self.obj, self.opt = client, warehouse, obj, options
        self.run_id = run_id or uuid.uuid4().hex
        self.table = obj.lower()
        self.now = now
        self.progress = progress
        self.result = SyncResult(obj)
        self.state: Any = None
        self.loaded = 0

    # -- extraction --------------------------------------------------------------------------------
    def pages(self, query: str, fields: Sequence[tuple[str, str]], path: str) -> Iterator[pa.Table]:
        """REST pages (Bulk jobs are driven by :meth:`read`, which records them for resume)."""
        return iter_rest_pages(self.client, self.obj, query, fields, self.opt.rest_page_size)

    def choose_path(self, count_soql: str) -> str:
        if self.opt.bulk_threshold <= 0:
            return "bulk"
        if self.opt.bulk_threshold == float("inf"):
            return "rest"
        return "bulk" if rest_count(self.client, self.obj, count_soql) >= self.opt.bulk_threshold else "rest"

    def read(self, query: str, fields: Sequence[tuple[str, str]], path: str, *,
             track: Callable[[str], None] | None = None, job_id: str | None = None) -> Iterator[pa.Table]:
        """Batches for ``query`` on ``path``; a failed new Bulk job falls back to REST before anything is yielded.

        Bulk: ``job_id`` resumes an existing job; otherwise a job is created and ``track(job_id)`` records it.
        A tracked job is left on the server when reading stops (the caller deletes it once merged); an untracked
        one is deleted here.
        """
        if path != "bulk":
            yield from _batches(self.pages(query, fields, "rest"), self.opt.batch_rows)
            return
        started = created = False
        try:
            if job_id is None:
                job_id = create_job(self.client, self.obj, query)
                created = True
                if track is not None:
                    track(job_id)
            # result pages are fetched and parsed in a background thread while the previous batch merges
            pages = prefetch(iter_job_pages(self.client, self.obj, job_id, fields, self.opt.bulk_page_rows,
                                            self.opt.bulk_wait), self.opt.prefetch_pages)
            for batch in _batches(pages, self.opt.batch_rows):
                started = True
                yield batch
        except BulkJobFailed as exc:
            if started or not created:
                raise
            if track is not None:
                self._forget_job()
            self.result.warnings.append(f"bulk job failed, used REST instead: {exc}")
            self.result.api_path = "rest"
            yield from _batches(self.pages(query, fields, "rest"), self.opt.batch_rows)
        finally:
            if created and job_id and track is None:
                delete_job(self.client, self.obj, job_id)

    # -- landing -------------------------------------------------------------------------------------
    def merge(self, batch: pa.Table, *, cursor_column: str | None, deleted: bool, state: Any = None,
              deleted_at: str | None = None) -> None:
        counts = self.wh.merge(SOURCE, self.table, batch, primary_key="Id", cursor_column=cursor_column,
                               deleted_column="IsDeleted" if deleted else None, deleted_at_column=deleted_at,
                               state=state)
        self.result.rows_inserted += counts.inserted
        self.result.rows_updated += counts.updated
        self.result.rows_deleted += getattr(counts, "deleted", 0)
        self.loaded += batch.num_rows
        if self.progress:
            self.progress(self.obj, self.loaded)

    def stamped_state(self, **changes: Any) -> Any:
        return replace(self.state, api_calls=(self.state.api_calls or 0), **changes)

    # -- steps -----------------------------------------------------------------------------------------
    def run(self) -> SyncResult:
        t0, calls0 = time.monotonic(), self.client.api_calls
        res = self.result
        try:
            wcols = _warehouse_api()
            wcols.validate_identifier(self.obj, where="salesforce object")
            self.state = self.wh.get_state(SOURCE, self.table)
            res.cursor = self.state.cursor
            self.sync()
            res.status = "success"
        except CleanStop as exc:
            res.status, res.message = "partial", str(exc)
        except Exception as exc:
            res.status = "failed"
            res.message = redact(f"{type(exc).__name__}: {exc}", self.client.secrets)
            log.error("salesforce %s failed: %s", self.obj, res.message)
        res.api_calls = self.client.api_calls - calls0
        res.duration_s = round(time.monotonic() - t0, 3)
        if res.warnings:
            res.message = "; ".join([m for m in [res.message] if m] + res.warnings)
        self.finish()
        return res

    def finish(self) -> None:
        if self.state is None:
            return
        res = self.result
        try:
            current = self.wh.get_state(SOURCE, self.table)
            self.wh.put_state(replace(current, status=res.status, message=res.message[:2000] or None,
                                      api_calls=res.api_calls, updated_at=datetime.now(UTC)))
            self.wh.record_run(**self._run_record())
        except Exception as exc:  # the load itself is committed; a bookkeeping failure must not hide it
            log.error("salesforce %s: could not record run: %s", self.obj, exc)

    def _run_record(self) -> dict[str, Any]:
        res = self.result
        finished = datetime.now(UTC)
        return {"run_id": self.run_id, "source": SOURCE, "stream": self.table,
                "started_at": finished - timedelta(seconds=res.duration_s),
                "finished_at": finished, "status": res.status, "rows_inserted": res.rows_inserted,
                "rows_updated": res.rows_updated, "rows_deleted": res.rows_deleted, "api_calls": res.api_calls,
                "api_path": res.api_path, "message": res.message or None}

    def sync(self) -> None:
        wcols = _warehouse_api()
        describe, clashes = _drop_collisions(self.obj, self.client.describe(self.obj))
        columns, refused = wcols.salesforce_columns(describe)
        for msg in clashes:
            log.error("salesforce: refused colliding field names: %s", msg)
            self.result.warnings.append(f"refused colliding field names: {msg}")
        if refused:
            shown = ", ".join(repr(r if len(r) <= 80 else r[:77] + "...") for r in refused)
            msg = f"refused hostile field name(s) on {self.obj}: {shown} (not loaded; every other field was)"
            log.error("salesforce: %s", msg)
            self.result.warnings.append(msg)
        names = [c.name for c in columns]
        if "Id" not in names:
            raise ValueError(f"{self.obj} has no Id field in its describe")
        types = {c.name: c.source_type for c in columns}
        fields = [(c.name, c.source_type) for c in columns]
        calculated = {f["name"] for f in describe.get("fields", []) if f.get("calculated")}
        formula_fields = [n for n in names if n in calculated and n != "Id"]
        has_cursor, has_deleted = CURSOR in names, "IsDeleted" in names
        initial = self.state.cursor is None or self.opt.full_refresh or not has_cursor

        changes = self.wh.ensure_table(SOURCE, self.table, columns, "Id")
        extra = dict(self.state.extra or {})
        pending = list(extra.get("pending_backfill", []))
        if self.state.cursor is not None:
            for change in changes:
                if getattr(change, "change", None) in ("added", "add", "add_column") and \
                        change.column_name not in pending:
                    pending.append(change.column_name)
        pending = [p for p in pending if p in types]
        extra["pending_backfill"] = pending
        self.state = replace(self.state, extra=extra, status="running")
        self.wh.put_state(self.state)

        server_now = self.now or self.client.server_now()
        end = server_now - self.opt.safety_lag

        if not has_cursor:
            self.full_reload(fields, has_deleted, end)
            return

        if self.state.cursor is not None:
            if self.opt.full_refresh or _due(self.state.last_reconciled_at, self.opt.reconcile_every, end):
                self.reconcile(end)
            elif has_deleted and self.opt.get_deleted:
                self.replicate_deletes(end)

        job = (self.state.extra or {}).get("bulk_job")
        if job and not self.opt.full_refresh:
            self.resume_job(job, fields, has_deleted)
        elif job:
            self._forget_job()
        # a resumed job may have loaded the whole first window: continue from its cursor
        start = None if self.opt.full_refresh or self.state.cursor is None else self.state.cursor - self.opt.lookback
        self.increment(fields, has_deleted, start, end)

        if pending:
            self.backfill(pending, types, end)
        if initial:
            self.state = self.stamped_state(last_full_sync_at=end, last_reconciled_at=end,
                                            last_formula_snapshot_at=end)
            self.wh.put_state(self.state)
        elif formula_fields and _due(self.state.last_formula_snapshot_at, self.opt.formula_every, end):
            self.formula_snapshot(formula_fields, types, end)

    def increment(self, fields: Sequence[tuple[str, str]], has_deleted: bool, start: datetime | None,
                  end: datetime) -> None:
        path = self.choose_path(soql.count_query(self.obj, start, end))
        self.result.api_path = path
        restarts = 0
        cursor_before = self.state.cursor
        while True:
            query = soql.window_query(self.obj, [n for n, _ in fields], start, end)
            try:
                self._consume(query, fields, has_deleted, path, start=start, end=end)
                return
            except QueryLocatorExpired:
                restarts += 1
                if restarts > self.opt.max_locator_restarts:
                    raise
                committed = self.state.cursor
                log.warning("salesforce %s: query locator expired; restarting from %s", self.obj, committed)
                if committed is not None and (start is None or committed > start):
                    start = committed
            except QueryTimeout:
                # retrying the same query would time out again: halve what is left of the window
                lo = start or SPLIT_FLOOR
                if self.state.cursor is not None and self.state.cursor != cursor_before and self.state.cursor > lo:
                    lo = self.state.cursor
                if end - lo <= self.opt.min_split_window:
                    raise QueryTimeout(f"{self.obj}: QUERY_TIMEOUT on the window {lo.isoformat()} .. "
                                       f"{end.isoformat()}, too narrow to split further") from None
                mid = lo + (end - lo) / 2
                self.result.window_splits += 1
                log.warning("salesforce %s: QUERY_TIMEOUT; splitting %s .. %s at %s", self.obj, lo, end, mid)
                self.increment(fields, has_deleted, lo, mid)
                self.increment(fields, has_deleted, mid, end)
                return

    def _consume(self, query: str, fields: Sequence[tuple[str, str]], has_deleted: bool, path: str, *,
                 start: datetime | None, end: datetime, job_id: str | None = None) -> None:
        """Merge every batch of ``query``; the cursor moves per REST batch, or once a Bulk job is merged."""
        def track(new_id: str) -> None:  # committed before the job is polled: a run dying from here resumes it
            self._remember_job(new_id, query, fields, start, end)

        seen_max: datetime | None = None
        seen_id: str | None = None
        tracked = path == "bulk"
        for batch in self.read(query, fields, path, track=track if tracked else None, job_id=job_id):
            top, top_id = self._batch_cursor(batch)
            if seen_max is None or top > seen_max or (top == seen_max and top_id > (seen_id or "")):
                seen_max, seen_id = top, top_id
            state = None
            if path == "rest" and self.result.api_path == "rest":
                state = self._advance(seen_max, seen_id)
            self.merge(batch, cursor_column=CURSOR, deleted=has_deleted, state=state)
            if state is not None:
                self.state = state
        finished = (self.state.extra or {}).get("bulk_job")
        if finished:
            self.state = replace(self.state, extra={k: v for k, v in self.state.extra.items() if k != "bulk_job"})
        if seen_max is not None or finished:
            self.state = self._advance(seen_max, seen_id) if seen_max is not None else self.stamped_state()
            self.wh.put_state(self.state)  # cursor and "job done" in one transaction
        if finished:
            delete_job(self.client, self.obj, finished["id"])
        self.result.cursor = self.state.cursor

    # -- in-flight Bulk jobs -----------------------------------------------------------------------------
    def _remember_job(self, job_id: str, query: str, fields: Sequence[tuple[str, str]], start: datetime | None,
                      end: datetime) -> None:
        extra = dict(self.state.extra or {})
        extra["bulk_job"] = {"id": job_id, "query": query, "fields": [n for n, _ in fields],
                             "start": start.isoformat() if start else None, "end": end.isoformat()}
        self.state = self.stamped_state(extra=extra)
        self.wh.put_state(self.state)

    def _forget_job(self) -> None:
        extra = dict(self.state.extra or {})
        job = extra.pop("bulk_job", None)
        self.state = self.stamped_state(extra=extra)
        self.wh.put_state(self.state)
        if job:
            delete_job(self.client, self.obj, job["id"])

    def resume_job(self, job: dict[str, Any], fields: Sequence[tuple[str, str]], has_deleted: bool) -> None:
        """Download the results of the Bulk job an earlier run created but did not finish merging."""
        if job.get("fields") != [n for n, _ in fields]:
            self.result.warnings.append(f"bulk job {job.get('id')} not resumed: {self.obj}'s fields changed")
            self._forget_job()
            return
        log.info("salesforce %s: resuming bulk job %s from an earlier run", self.obj, job["id"])
        try:
            self._consume(job["query"], fields, has_deleted, "bulk", start=None, end=_parse_ts(job["end"]),
                          job_id=job["id"])
            self.result.resumed_job = job["id"]
            self.result.api_path = "bulk"
        except (BulkJobFailed, SalesforceResourceNotFound) as exc:  # expired, deleted or failed: start over
            self.result.warnings.append(f"bulk job {job['id']} could not be resumed ({type(exc).__name__}); "
                                        "re-reading its window")
            self._forget_job()

    def _advance(self, top: datetime, top_id: str | None) -> Any:
        cur = self.state.cursor
        if cur is not None and (top < cur or (top == cur and (top_id or "") <= (self.state.cursor_id or ""))):
            return self.stamped_state()
        return self.stamped_state(cursor=top, cursor_id=top_id)

    @staticmethod
    def _batch_cursor(batch: pa.Table) -> tuple[datetime, str]:
        stamps = batch.column(CURSOR)
        top = pc.max(stamps).as_py()
        ids = pc.filter(batch.column("Id"), pc.equal(stamps, top))
        return _parse_ts(top), pc.max(ids).as_py()

    def reconcile(self, end: datetime) -> None:
        """Flag rows whose Id queryAll no longer returns (hard deletes, purged recycle bin)."""
        started = datetime.now(UTC)
        ids = self.read_ids()
        extra = {**(self.state.extra or {}), "deletes_covered_until": end.isoformat()}
        self.state = self.stamped_state(last_reconciled_at=end, extra=extra)
        self.flag_missing(ids, end, only_loaded_before=started)

    def replicate_deletes(self, end: datetime) -> None:
        """getDeleted since the last covered date; a purged delete log falls back to :meth:`reconcile`."""
        covered = (self.state.extra or {}).get("deletes_covered_until")
        since = _parse_ts(covered) if covered else (self.state.last_reconciled_at or self.state.cursor)
        start = since - self.opt.lookback
        if start >= end:
            return
        try:
            found = get_deleted(self.client, self.obj, start, end)
        except ReplicationUnavailable as exc:
            self.result.warnings.append(f"{exc}; reconciled all Ids instead")
            log.warning("salesforce %s: %s; falling back to a full Id reconciliation", self.obj, exc)
            self.reconcile(end)
            return
        extra = {**(self.state.extra or {}), "deletes_covered_until": min(found.latest_covered, end).isoformat()}
        self.state = self.stamped_state(extra=extra)
        batch = self._deleted_batch(found.ids, found.deleted_dates)
        if batch.num_rows:
            self.merge(batch, cursor_column=None, deleted=True, state=self.state, deleted_at=CURSOR)
        else:
            self.wh.put_state(self.state)

    def _deleted_batch(self, ids: list[str], dates: list[datetime]) -> pa.Table:
        """Rows to flag: loaded, not flagged yet, and not modified after their deletion (else undeleted since)."""
        schema = pa.schema([("Id", pa.string()), ("IsDeleted", pa.string()), (CURSOR, pa.string())])
        if not ids:
            return schema.empty_table()
        deleted = pa.table({"id": pa.array(ids, pa.string()), "at": pa.array(dates, pa.timestamp("us", "UTC"))})
        loaded = self.wh.fetch_arrow(
            f'SELECT "Id", "{CURSOR}" AS stamp FROM raw_salesforce.{self.table} '
            'WHERE NOT coalesce(_is_deleted, false) AND list_contains(?, "Id")', [ids])
        last = {r["Id"]: r["stamp"] for r in loaded.to_pylist()}
        rows = [(i, at) for i, at in zip(deleted["id"].to_pylist(), deleted["at"].to_pylist(), strict=True)
                if i in last and (last[i] is None or last[i] <= at)]
        return pa.table({"Id": [i for i, _ in rows], "IsDeleted": ["true"] * len(rows),
                         CURSOR: [at.isoformat() for _, at in rows]}, schema=schema)

    def read_ids(self) -> pa.Array:
        path = self.choose_path(soql.count_query(self.obj, None, None))
        chunks = [b.column("Id").combine_chunks() for b in self.read(soql.id_query(self.obj), [("Id", "id")], path)]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())

    def full_reload(self, fields: Sequence[tuple[str, str]], has_deleted: bool, end: datetime) -> None:
        """Objects without SystemModstamp: read everything, merge, flag what is gone."""
        path = self.choose_path(soql.count_query(self.obj, None, None))
        self.result.api_path = path
        query = soql.window_query(self.obj, [n for n, _ in fields], None, None, order=False)
        ids: list[pa.Array] = []
        for batch in self.read(query, fields, path):
            ids.append(batch.column("Id").combine_chunks())
            self.merge(batch, cursor_column=None, deleted=has_deleted)
        present = pa.concat_arrays(ids) if ids else pa.array([], pa.string())
        self.state = self.stamped_state(last_full_sync_at=end, last_reconciled_at=end)
        self.flag_missing(present, end, only_loaded_before=None)

    def flag_missing(self, ids: pa.Array, end: datetime, only_loaded_before: datetime | None) -> None:
        """Flag rows absent from ``ids`` as deleted; an empty Id list is treated as suspicious and skipped."""
        if len(ids) == 0:
            self.result.warnings.append(f"reconciliation skipped: Salesforce returned no {self.obj} Ids")
            self.wh.put_state(self.state)
            return
        self.result.rows_deleted += self.wh.flag_missing_as_deleted(
            SOURCE, self.table, "Id", ids, end, state=self.state, only_loaded_before=only_loaded_before)

    def backfill(self, pending: list[str], types: dict[str, str], end: datetime) -> None:
        """Targeted re-read of Id + newly added columns for rows loaded before the columns existed."""
        sub = [("Id", types["Id"]), *((n, types[n]) for n in pending)]
        self._columns_pass(sub, end)
        extra = dict(self.state.extra or {})
        extra["pending_backfill"] = []
        self.state = self.stamped_state(extra=extra)
        self.wh.put_state(self.state)

    def formula_snapshot(self, formula_fields: list[str], types: dict[str, str], end: datetime) -> None:
        sub = [("Id", types["Id"]), *((n, types[n]) for n in formula_fields)]
        self._columns_pass(sub, end)
        self.state = self.stamped_state(last_formula_snapshot_at=end)
        self.wh.put_state(self.state)

    def _columns_pass(self, sub: list[tuple[str, str]], end: datetime) -> None:
        path = self.choose_path(soql.count_query(self.obj, None, end))
        query = soql.columns_query(self.obj, [n for n, _ in sub], end)
        for batch in self.read(query, sub, path):
            self.merge(batch, cursor_column=None, deleted=False)


def sync_object(sf: SalesforceClient, warehouse: Any, obj: str, options: SyncOptions | None = None,
                now: datetime | None = None, progress: Progress | None = None,
                run_id: str | None = None) -> SyncResult:
    """Sync one object; never raises for a per-object failure (see :attr:`SyncResult.status`).

    ``now`` overrides Salesforce's clock (the ``Date`` header) as the window's reference time.
    """
    return _ObjectSync(sf, warehouse, obj, options or SyncOptions(), now, progress, run_id).run()


def select_objects(global_describe: dict[str, Any], config: SalesforceConfig | None = None,
                   objects: Sequence[str] | None = None) -> list[str]:
    """The default objects present in the org, the multi-currency tables when present, configured extras."""
    available = {o["name"]: o for o in global_describe.get("sobjects", []) if o.get("queryable", True)}
    if objects is not None:
        return list(dict.fromkeys(objects))
    wanted = [o for o in DEFAULT_OBJECTS if o in available]
    wanted += [o for o in MULTI_CURRENCY_OBJECTS if o in available]
    wanted += list(config.extra_objects if config else ())
    return list(dict.fromkeys(wanted))


def sync_salesforce(config: SalesforceConfig, warehouse: Any, objects: Sequence[str] | None = None,
                    full_refresh: bool = False, progress: Progress | None = None,
                    options: SyncOptions | None = None, client: SalesforceClient | None = None) -> list[SyncResult]:
    """Sync every selected object; after a clean stop the remaining objects are ``skipped``."""
    opts = replace(options or SyncOptions(), full_refresh=full_refresh or (options.full_refresh if options else False))
    refresh = opts.session_refresh_after.total_seconds() if opts.session_refresh_after else None
    sf = client or connect(config, retry=opts.retry, quota_share=opts.quota_share, timeout=opts.request_timeout,
                           session_refresh_after=refresh, max_concurrent=opts.max_concurrent_requests,
                           max_response_bytes=opts.max_response_bytes)
    results: list[SyncResult] = []
    try:
        names = select_objects(sf.describe_global(), config, objects)
    except CleanStop as exc:
        return [SyncResult(o, status="partial", message=str(exc)) for o in (objects or DEFAULT_OBJECTS)]
    stopped: str | None = None
    run_id = uuid.uuid4().hex
    for name in names:
        if stopped:
            results.append(SyncResult(name, status="skipped", message=f"not started: {stopped}"))
            continue
        result = sync_object(sf, warehouse, name, opts, progress=progress, run_id=run_id)
        results.append(result)
        if result.status == "partial":
            stopped = result.message
    return results
