"""Sync Salesforce objects into ``raw_salesforce`` through :class:`connectors.warehouse.raw.RawWarehouse`.

Per object and run (``sync_object``):

1. Describe; columns from ``salesforce_columns`` (compound fields skipped, hostile names refused and reported,
   everything else loads); ``ensure_table`` adds new columns, which are queued for backfill in the stream state.
2. Hard-delete reconciliation when due (default weekly; always on ``full_refresh``): queryAll ``SELECT Id``,
   rows not returned are flagged ``_is_deleted`` by ``flag_missing_as_deleted``. It runs *before* the increment,
   so no row loaded after the Id read can be flagged by mistake.
3. The increment: ``SystemModstamp >= cursor - lookback AND SystemModstamp < server_now - safety_lag`` ordered
   by ``SystemModstamp, Id`` through queryAll (soft deletes arrive with ``IsDeleted``); the first run has no
   lower bound (all history). ``SELECT COUNT()`` over the window picks Bulk API 2.0 at or above
   ``bulk_threshold`` rows, REST below. Batches of ``batch_rows`` are merged on Id; on REST each merge carries
   the stream state (cursor = max committed SystemModstamp, cursor_id = its Id) in the same transaction. Bulk
   results are not guaranteed to be ordered, so the cursor advances once the whole job is merged (a stop
   mid-job re-reads the window next run: merges are idempotent). INVALID_QUERY_LOCATOR restarts the window
   from the last committed cursor. Objects without SystemModstamp are fully re-read each run, then reconciled
   against the Ids just read.
4. Backfill of queued new columns (``SELECT Id, <new columns>``) and, when due (default daily), the formula
   snapshot (``SELECT Id, <calculated fields>``): formula values change without bumping SystemModstamp.

A clean stop (quota guard, 403 REQUEST_LIMIT_EXCEEDED) ends the object ``partial`` with everything loaded so
far committed; later objects are ``skipped``. Any other error fails only that object.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.prefetch import prefetch

from . import soql
from .client import RetryPolicy, SalesforceClient, connect
from .config import SalesforceConfig
from .errors import BulkJobFailed, CleanStop, QueryLocatorExpired, redact
from .extract_bulk import iter_bulk_pages
from .extract_rest import iter_rest_pages, rest_count

log = logging.getLogger("acctwh.salesforce")
SOURCE = "salesforce"
DEFAULT_OBJECTS = (
    "Account", "Contact", "User", "Opportunity", "OpportunityLineItem", "OpportunityContactRole",
    "OpportunityHistory", "Product2", "Contract", "Task", "Event",
)
MULTI_CURRENCY_OBJECTS = ("DatedConversionRate", "CurrencyType")
CURSOR = soql.CURSOR_FIELD
Progress = Callable[[str, int], None]


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
    formula_every: timedelta | None = timedelta(days=1)
    quota_share: float = 0.5  # share of the daily API allowance one run may use
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    full_refresh: bool = False
    max_locator_restarts: int = 3


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
        if path == "bulk":
            return iter_bulk_pages(self.client, self.obj, query, fields, self.opt.bulk_page_rows, self.opt.bulk_wait)
        return iter_rest_pages(self.client, self.obj, query, fields, self.opt.rest_page_size)

    def choose_path(self, count_soql: str) -> str:
        if self.opt.bulk_threshold <= 0:
            return "bulk"
        if self.opt.bulk_threshold == float("inf"):
            return "rest"
        return "bulk" if rest_count(self.client, self.obj, count_soql) >= self.opt.bulk_threshold else "rest"

    def read(self, query: str, fields: Sequence[tuple[str, str]], path: str) -> Iterator[pa.Table]:
        """Batches for ``query`` on ``path``; a failed Bulk job falls back to REST before anything is yielded."""
        if path != "bulk":
            yield from _batches(self.pages(query, fields, "rest"), self.opt.batch_rows)
            return
        started = False
        try:
            # result pages are fetched and parsed in a background thread while the previous batch merges
            pages = prefetch(self.pages(query, fields, "bulk"), self.opt.prefetch_pages)
            for batch in _batches(pages, self.opt.batch_rows):
                started = True
                yield batch
        except BulkJobFailed as exc:
            if started:
                raise
            self.result.warnings.append(f"bulk job failed, used REST instead: {exc}")
            self.result.api_path = "rest"
            yield from _batches(self.pages(query, fields, "rest"), self.opt.batch_rows)

    # -- landing -------------------------------------------------------------------------------------
    def merge(self, batch: pa.Table, *, cursor_column: str | None, deleted: bool, state: Any = None) -> None:
        counts = self.wh.merge(SOURCE, self.table, batch, primary_key="Id", cursor_column=cursor_column,
                               deleted_column="IsDeleted" if deleted else None, state=state)
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
        describe = self.client.describe(self.obj)
        columns, refused = wcols.salesforce_columns(describe)
        if refused:
            msg = (f"refused hostile field name(s) on {self.obj}: {', '.join(repr(r) for r in refused)} "
                   "(not loaded; every other field was)")
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

        if self.state.cursor is not None and (self.opt.full_refresh or
                                              _due(self.state.last_reconciled_at, self.opt.reconcile_every, end)):
            self.reconcile(end)

        start = None if initial else self.state.cursor - self.opt.lookback
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
        while True:
            query = soql.window_query(self.obj, [n for n, _ in fields], start, end)
            try:
                seen_max: datetime | None = None
                seen_id: str | None = None
                for batch in self.read(query, fields, path):
                    top, top_id = self._batch_cursor(batch)
                    if seen_max is None or top > seen_max or (top == seen_max and top_id > (seen_id or "")):
                        seen_max, seen_id = top, top_id
                    state = None
                    if path == "rest" and self.result.api_path == "rest":
                        state = self._advance(seen_max, seen_id)
                    self.merge(batch, cursor_column=CURSOR, deleted=has_deleted, state=state)
                    if state is not None:
                        self.state = state
                if seen_max is not None:
                    self.state = self._advance(seen_max, seen_id)
                    self.wh.put_state(self.state)
                self.result.cursor = self.state.cursor
                return
            except QueryLocatorExpired:
                restarts += 1
                if restarts > self.opt.max_locator_restarts:
                    raise
                committed = self.state.cursor
                log.warning("salesforce %s: query locator expired; restarting from %s", self.obj, committed)
                if committed is not None and (start is None or committed > start):
                    start = committed

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
        self.state = self.stamped_state(last_reconciled_at=end)
        self.flag_missing(ids, end, only_loaded_before=started)

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
    sf = client or connect(config, retry=opts.retry, quota_share=opts.quota_share)
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
