"""Sync orchestration: property definitions -> table schema, full or incremental load, archived sweep,
associations (changed ids + periodic snapshot), owners and pipelines, with per-batch committed state.

First run (or ``full_refresh``): GET list paging (100/page, chunked properties) over every record, no
start-date cutoff; the list cursor is stored in the stream state after every committed page, so a run
stopped by the daily limit resumes mid-list. At the end the cursor is set to ``list start - lag``
(server time), so anything modified while listing is picked up by the next incremental run.

Incremental runs: search ``last-modified`` in ``[cursor - lookback, server_now - lag]`` ascending (see
``extract.iter_search`` for the 10k cap). After every committed page the state's cursor is the page's
last last-modified and ``cursor_id`` its id, in the same transaction as the merge.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.prefetch import prefetch

from . import associations as assoc
from . import extract, metadata
from .client import HubSpotClient, connect
from .config import HubSpotConfig
from .errors import AuthError, DailyLimitReached, HubSpotError, StopRun
from .landing import Landing

log = logging.getLogger(__name__)
SOURCE = "hubspot"


@dataclass
class SyncOptions:
    full_refresh: bool = False
    association_snapshot: bool | None = None  # None = when due (config.association_snapshot_every)
    archived_sweep: bool = True
    associations: bool = True
    reconcile: bool | None = None  # id reconciliation; None = when due (config.reconcile_every)


@dataclass
class SyncResult:
    object: str
    status: str  # success | partial | failed
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    api_calls: int = 0
    cursor: datetime | None = None
    duration_s: float = 0.0
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Chunk:
    pages: list[extract.Page]
    links: dict[tuple[str, str], tuple[list[str], pa.Table]]  # (from, to) -> (from ids, their associations)


def _merge_links(parts: list[dict[tuple[str, str], tuple[list[str], pa.Table]]]
                 ) -> dict[tuple[str, str], tuple[list[str], pa.Table]]:
    """Combine per-chunk association reads into one (ids, rows) per pair: one merge per pair per batch.

    An id read again by a later chunk (search restarts re-read ties) keeps only its latest associations, as
    replacing chunk by chunk would have done."""
    reads: dict[tuple[str, str], list[tuple[list[str], pa.Table]]] = {}
    for part in parts:
        for pair, read in part.items():
            reads.setdefault(pair, []).append(read)
    out: dict[tuple[str, str], tuple[list[str], pa.Table]] = {}
    for pair, pair_reads in reads.items():
        later: set[str] = set()
        kept: list[pa.Table] = []
        for ids, rows in reversed(pair_reads):
            if later and rows.num_rows:
                rows = rows.filter(pc.invert(pc.is_in(rows.column("from_id"), pa.array(list(later), pa.string()))))
            later.update(ids)
            kept.append(rows)
        all_ids = list(dict.fromkeys(i for ids, _ in pair_reads for i in ids))
        out[pair] = (all_ids, pa.concat_tables(kept[::-1]))
    return out


def _due(last: datetime | None, every: timedelta | None, now: datetime) -> bool:
    if every is None:
        return False
    return every <= timedelta(0) or last is None or now - last >= every


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat() if ts else None


class _ObjectSync:
    def __init__(self, client: HubSpotClient, landing: Landing, object_type: str, options: SyncOptions,
                 now: datetime | None) -> None:
        self.client = client
        self.cfg = client.config
        self.land = landing
        self.ot = object_type
        self.opts = options
        self.now = now
        self.result = SyncResult(object_type, "running")
        self.pairs = [p for p in self.cfg.association_pairs if p[0] == object_type]
        self.props: list[str] = []

    def count(self, counts: Any, deleted: bool = False) -> None:
        if deleted:
            self.result.rows_deleted += counts.inserted + counts.updated
        else:
            self.result.rows_inserted += counts.inserted
            self.result.rows_updated += counts.updated

    # -- steps -------------------------------------------------------------------------------------
    def schema(self) -> None:
        defs = metadata.fetch_property_definitions(self.client, self.ot)
        props, refused, added, created = self.land.ensure_object_table(self.ot, defs)
        self.props = props
        if refused:
            self.result.details["refused_properties"] = refused
            log.warning("hubspot %s: refused hostile property names %s", self.ot, refused)
        self.land.merge_definitions(self.ot, metadata.definitions_table(self.ot, defs, refused))
        if added and not created:
            self.backfill(added)

    def backfill(self, added: list[str]) -> None:
        """Re-read new properties for every id already loaded (batch read; properties in the POST body)."""
        filled = 0
        for ids in self.land.existing_ids(self.ot, self.cfg.batch_read_size * 10):
            found = extract.batch_read(self.client, self.ot, ids, added, archived=False)
            missing = [i for i in ids if i not in found]
            if missing:
                found.update(extract.batch_read(self.client, self.ot, missing, added, archived=True))
            rows = [found[i] for i in ids if i in found]
            table = extract.records_to_table(rows, added).select(["id", *added])
            self.land.backfill(self.ot, table)
            filled += table.num_rows
        self.result.details["backfilled"] = {"properties": added, "rows": filled}

    def full(self, state: Any) -> None:
        extra = dict(state.extra or {})
        started = extra.get("full_started") if extra.get("phase") == "full" else None
        after = extra.get("list_after") if extra.get("phase") == "full" else None
        start = datetime.fromisoformat(started) if started else (self.now or self.client.now())
        def commit(page: extract.Page) -> None:
            state.status = "running"
            state.extra = {**extra, "phase": "full", "full_started": _iso(start), "list_after": page.after}

        pages = extract.iter_list(self.client, self.ot, self.props, archived=False, after=after)
        for page in self.merged(pages, state, commit):
            if page.dropped:
                self.result.details.setdefault("dropped_ids", []).extend(page.dropped)
        state.cursor = start - self.cfg.lag
        state.cursor_id = None
        state.extra = {k: v for k, v in extra.items() if k not in ("phase", "full_started", "list_after")}
        state.last_full_sync_at = start
        if state.last_reconciled_at is None:  # everything was just listed: nothing older to reconcile
            state.last_reconciled_at = start
        if self.pairs and self.opts.associations:
            state.last_association_snapshot_at = start
        self.land.put_state(state)

    def incremental(self, state: Any) -> None:
        end = (self.now or self.client.now()) - self.cfg.lag
        start = state.cursor - self.cfg.lookback
        stats = extract.SearchStats()
        def commit(page: extract.Page) -> None:
            # cursor_id names the record at the cursor: it moves only with the cursor (a page at or behind the
            # cursor, e.g. the lookback right after a full load, must not pair the old cursor with its id)
            if page.last_modified and page.last_modified >= state.cursor:
                state.cursor, state.cursor_id = page.last_modified, page.last_id
            state.status = "running"

        for _ in self.merged(extract.iter_search(self.client, self.ot, self.props, start, end, stats), state,
                             commit):
            pass
        self.result.details["search"] = {"requests": stats.requests, "restarts": stats.restarts,
                                         "tie_drains": stats.tie_drains, "total": stats.total,
                                         "window": [_iso(start), _iso(end)]}

    def merged(self, pages: Iterator[extract.Page], state: Any,
               commit: Callable[[extract.Page], None]) -> Iterator[extract.Page]:
        """Merge ``pages`` in batches of about ``merge_batch_rows`` rows, each with the state of its last page
        (``commit(page)`` applies a page's cursor to ``state``), after merging the batch's associations (so the
        committed cursor never runs ahead of the associations; a crash in between re-reads the batch).

        Pages and their associations are read ahead in a background thread (``_with_associations``) while the
        previous batch merges. Pages are yielded once read. When reading stops with an error, the pages already
        read are still merged (with their state and associations) before the error propagates, as page-by-page
        merging would have done.
        """
        buffer: list[_Chunk] = []
        rows = 0

        def flush() -> None:
            nonlocal buffer, rows
            if not buffer:
                return
            pages = [p for chunk in buffer for p in chunk.pages]
            for page in pages:
                commit(page)
            tables = [p.table for p in pages]
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
            links = _merge_links([chunk.links for chunk in buffer])
            buffer, rows = [], 0
            # the merged-id map first, for the same reason as the associations (idempotent; losers are flagged at
            # the end of the run, once no earlier-read copy of a loser can be merged back in)
            self.result.details["merged_ids"] = (self.result.details.get("merged_ids", 0)
                                                 + self.land.record_merges(self.ot, table))
            # Associations first: the object merge commits the resume cursor (list ``after`` / search cursor) in
            # its transaction, so a crash between the two must not leave the batch's associations unread forever.
            for (from_type, to_type), (ids, assoc_rows) in links.items():
                self.land.replace_associations(from_type, to_type, ids, assoc_rows)
            self.count(self.land.merge_object(self.ot, table, state))

        try:
            for chunk in prefetch(self._with_associations(pages), self.cfg.prefetch_pages):
                buffer.append(chunk)
                rows += sum(p.table.num_rows for p in chunk.pages)
                yield from chunk.pages
                if rows >= self.cfg.merge_batch_rows:
                    flush()
        except HubSpotError:
            flush()
            raise
        flush()

    def _with_associations(self, pages: Iterator[extract.Page]) -> Iterator[_Chunk]:
        """Group pages into chunks of up to one association batch read and read the chunk's associations."""
        size = max(1, min(self.cfg.association_batch_size, self.cfg.merge_batch_rows))
        held: list[extract.Page] = []
        rows = 0

        def chunk() -> _Chunk:
            tables = [p.table for p in held]
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
            return _Chunk(list(held), self.read_associations(table))

        try:
            for page in pages:
                held.append(page)
                rows += page.table.num_rows
                if rows >= size:
                    yield chunk()
                    held, rows = [], 0
        except HubSpotError:
            if held:
                yield chunk()
            raise
        if held:
            yield chunk()

    def archived_sweep(self, state: Any) -> None:
        tables: list[pa.Table] = []
        rows = 0
        for page in extract.iter_list(self.client, self.ot, self.props, archived=True):
            if page.table.num_rows:
                tables.append(page.table)
                rows += page.table.num_rows
            if rows >= self.cfg.merge_batch_rows:
                self.count(self.land.merge_object(self.ot, pa.concat_tables(tables), state), deleted=True)
                tables, rows = [], 0
        if tables:
            self.count(self.land.merge_object(self.ot, pa.concat_tables(tables), state), deleted=True)

    def reconcile(self, state: Any, now: datetime, full: bool, loaded_before: bool) -> None:
        """Id reconciliation when due: rows whose id neither the live nor the archived listing returns any more
        (purged 90 days after archiving, GDPR-deleted, merged away) are flagged deleted. A first load has nothing
        older to reconcile (listing every id again cost ~100 s on `large`); a full refresh over loaded rows has."""
        due = self.opts.reconcile
        if due is None:
            due = (full and self.opts.full_refresh and loaded_before) or (
                not full and _due(state.last_reconciled_at, self.cfg.reconcile_every, now))
        if not due:
            return
        started = datetime.now(UTC)  # rows loaded while listing (new records) are never flagged
        chunks = [*extract.list_ids(self.client, self.ot, archived=False),
                  *extract.list_ids(self.client, self.ot, archived=True)]
        present = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
        state.last_reconciled_at = now
        if not len(present):
            self.result.details.setdefault("warnings", []).append(
                f"reconciliation skipped: HubSpot listed no {self.ot} ids")
            self.land.put_state(state)
            return
        flagged = self.land.reconcile_ids(self.ot, present, now, state, started)
        self.result.rows_deleted += flagged
        self.result.details["reconciled"] = {"ids": len(present), "flagged": flagged}

    def read_associations(self, table: pa.Table) -> dict[tuple[str, str], tuple[list[str], pa.Table]]:
        """(from, to) -> (live ids of ``table``, all their associations)."""
        if not self.pairs or not self.opts.associations or not table.num_rows:
            return {}
        ids = [i for i, a in zip(table.column("id").to_pylist(), table.column("archived").to_pylist(),
                                 strict=True) if a != "true"]
        out: dict[tuple[str, str], tuple[list[str], pa.Table]] = {}
        for from_type, to_type in self.pairs:
            groups = list(assoc.iter_associations(self.client, from_type, to_type, ids))
            if groups:
                ids_read = [i for group, _ in groups for i in group]
                out[(from_type, to_type)] = (ids_read, pa.concat_tables([t for _, t in groups]))
        return out

    def snapshot_associations(self, state: Any, now: datetime) -> None:
        due = self.opts.association_snapshot
        if due is None:
            last = state.last_association_snapshot_at
            every = self.cfg.association_snapshot_every
            due = every <= timedelta(0) or last is None or now - last >= every  # 0 = every run
        if not due or not self.pairs or not self.opts.associations:
            return
        for from_type, to_type in self.pairs:
            self.land.begin_association_snapshot(from_type, to_type)
            for ids in self.land.existing_ids(self.ot, self.cfg.association_batch_size, live_only=True):
                for group, rows in assoc.iter_associations(self.client, from_type, to_type, ids):
                    self.land.replace_associations(from_type, to_type, group, rows)
            self.result.rows_deleted += self.land.end_association_snapshot(from_type, to_type, now)
        state.last_association_snapshot_at = now
        self.land.put_state(state)

    def run(self) -> SyncResult:
        state = self.land.get_state(self.ot)
        loaded_before = state.cursor is not None
        started = time.monotonic()
        calls0 = self.client.api_calls
        try:
            self.schema()
            full = self.opts.full_refresh or state.cursor is None or (state.extra or {}).get("phase") == "full"
            if full:
                self.full(state)
            else:
                self.incremental(state)
            if self.opts.archived_sweep:
                self.archived_sweep(state)
            flagged = self.land.flag_merged(self.ot)
            self.result.rows_deleted += flagged
            if flagged:
                self.result.details["merged_flagged"] = flagged
            now = self.now or self.client.now()
            self.reconcile(state, now, full, loaded_before)
            self.snapshot_associations(state, now)
            self.result.status = "success"
            if self.result.details.get("dropped_ids"):
                self.result.message = f"{len(self.result.details['dropped_ids'])} records vanished between reads"
        except StopRun as exc:
            self.result.status, self.result.message = "partial", str(exc)
        except HubSpotError as exc:
            self.result.status, self.result.message = "failed", str(exc)
            if isinstance(exc, AuthError):
                self.result.details["auth_failed"] = True
        except Exception as exc:
            self.result.status, self.result.message = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            self.finish(state, started, calls0)
            raise
        self.finish(state, started, calls0)
        return self.result

    def finish(self, state: Any, started: float, calls0: int) -> None:
        self.result.api_calls = self.client.api_calls - calls0
        self.result.duration_s = time.monotonic() - started
        self.result.cursor = state.cursor
        state.status = self.result.status
        state.message = self.result.message
        state.api_calls = (state.api_calls or 0) + self.result.api_calls
        self.land.put_state(state)
        self.land.record_run(self.result, "search" if state.last_full_sync_at else "list")


def sync_object(client: HubSpotClient, warehouse: Any, object_type: str, options: SyncOptions | None = None,
                now: datetime | None = None) -> SyncResult:
    """Sync one object type (schema, records, archived sweep, associations from it) into raw_hubspot."""
    return _ObjectSync(client, Landing(warehouse), object_type, options or SyncOptions(), now).run()


def sync_metadata(client: HubSpotClient, warehouse: Any) -> list[SyncResult]:
    land = Landing(warehouse)
    results = []
    for name, fetch in (("owners", lambda: [("owners", metadata.fetch_owners(client))]),
                        ("pipelines", lambda: list(zip(("pipelines", "pipeline_stages"),
                                                       metadata.fetch_pipelines(client, "deals"), strict=True)))):
        started, calls0 = time.monotonic(), client.api_calls
        result = SyncResult(name, "success")
        try:
            for table_name, table in fetch():
                counts, deleted = land.snapshot_table(table_name, table, client.now())
                result.rows_inserted += counts.inserted
                result.rows_updated += counts.updated
                result.rows_deleted += deleted
        except StopRun as exc:
            result.status, result.message = "partial", str(exc)
        except HubSpotError as exc:
            result.status, result.message = "failed", str(exc)
            if isinstance(exc, AuthError):
                result.details["auth_failed"] = True
        result.api_calls = client.api_calls - calls0
        result.duration_s = time.monotonic() - started
        land.record_run(result, "list")
        results.append(result)
    return results


def sync_hubspot(config: HubSpotConfig, warehouse: Any, objects: list[str] | None = None, full_refresh: bool = False,
                 progress: Callable[[SyncResult], None] | None = None,
                 client: HubSpotClient | None = None, options: SyncOptions | None = None) -> list[SyncResult]:
    """Metadata, then every object type; a daily-limit stop marks the rest ``partial`` and a rejected token (401)
    marks them ``failed``, without calling."""
    client = client or connect(config)
    results: list[SyncResult] = []
    stopped: str | None = None
    stop_status = "partial"

    def check(r: SyncResult) -> None:
        nonlocal stopped, stop_status
        if stopped:
            return
        if r.details.get("auth_failed"):
            stopped, stop_status = r.message, "failed"
        elif r.status == "partial" and "daily" in r.message.lower():
            stopped = r.message

    for r in sync_metadata(client, warehouse):
        results.append(r)
        if progress:
            progress(r)
        check(r)
    for ot in objects or list(config.objects):
        if stopped:
            r = SyncResult(ot, stop_status, message=f"not started: {stopped}")
        else:
            opts = options or SyncOptions()
            opts = SyncOptions(full_refresh=full_refresh or opts.full_refresh,
                               association_snapshot=opts.association_snapshot,
                               archived_sweep=opts.archived_sweep, associations=opts.associations,
                               reconcile=opts.reconcile)
            r = sync_object(client, warehouse, ot, opts)
            check(r)
        results.append(r)
        if progress:
            progress(r)
    return results


__all__ = ["DailyLimitReached", "SyncOptions", "SyncResult", "sync_hubspot", "sync_metadata", "sync_object"]
