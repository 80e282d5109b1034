"""Extraction iterators: list pages, batch reads and 10k-cap-safe search windows, as Arrow tables.

Every table has text columns ``id, createdAt, updatedAt, archived, archivedAt`` plus one per requested
property (HubSpot sends every property value as a string; typing happens in the raw layer).

Long property lists never reach a URL: a GET list page carries at most ``url_property_chars``
characters of property names and the remaining properties are read for the page's ids with the batch
read endpoint (properties in the POST body), then merged by id. Search sends properties in its body.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from .client import HubSpotClient
from .errors import ApiError, RequestBudgetExceeded

BASE_FIELDS = ("id", "createdAt", "updatedAt", "archived", "archivedAt")
_PARAM_OVERHEAD = len("&properties=")


def last_modified_property(object_type: str) -> str:
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def to_ms(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp() * 1000)


def parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _texts(values: list[Any]) -> list[str | None]:
    # HubSpot sends strings (or null); convert only when something else shows up
    if all(v is None or type(v) is str for v in values):
        return values
    return [_text(v) for v in values]


def records_to_table(results: list[dict[str, Any]], properties: list[str]) -> pa.Table:
    """Column by column (one list comprehension each): ~4x faster than appending record by record."""
    props = [rec.get("properties") or {} for rec in results]
    columns: dict[str, list[Any]] = {
        "id": _texts([rec.get("id") for rec in results]),
        "createdAt": _texts([rec.get("createdAt") for rec in results]),
        "updatedAt": _texts([rec.get("updatedAt") for rec in results]),
        "archived": ["true" if rec.get("archived") else "false" for rec in results],
        "archivedAt": _texts([rec.get("archivedAt") for rec in results]),
    }
    for p in properties:
        columns[p] = _texts([values.get(p) for values in props])
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def chunk_properties(properties: list[str], max_chars: int) -> list[list[str]]:
    """Split property names into chunks whose query-string length stays under ``max_chars``."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for p in properties:
        cost = len(p) + _PARAM_OVERHEAD
        if current and size + cost > max_chars:
            chunks.append(current)
            current, size = [], 0
        current.append(p)
        size += cost
    if current:
        chunks.append(current)
    return chunks


@dataclass
class Page:
    table: pa.Table
    after: str | None = None  # list cursor to resume after this page (None on the last page)
    last_modified: datetime | None = None  # search: last-modified of the page's last record
    last_id: str | None = None
    dropped: list[str] = field(default_factory=list)  # ids that vanished between chunked reads


def _next_after(body: dict[str, Any]) -> str | None:
    nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(nxt) if nxt not in (None, "") else None


def batch_read(client: HubSpotClient, object_type: str, ids: list[str], properties: list[str],
               archived: bool) -> dict[str, dict[str, Any]]:
    """id -> record for ``ids`` (records not found are simply absent)."""
    found: dict[str, dict[str, Any]] = {}
    size = client.config.batch_read_size
    for start in range(0, len(ids), size):
        body = client.batch_read(object_type, ids[start:start + size], properties, archived)
        for rec in body.get("results") or []:
            found[str(rec.get("id"))] = rec
    return found


def complete_properties(client: HubSpotClient, object_type: str, results: list[dict[str, Any]],
                        properties: list[str], archived: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Add ``properties`` to list results via batch read; returns (completed results, dropped ids)."""
    ids = [str(r["id"]) for r in results]
    extra = batch_read(client, object_type, ids, properties, archived)
    missing = [i for i in ids if i not in extra]
    moved: dict[str, dict[str, Any]] = {}
    if missing:  # archived (or restored) between the two reads: read it from the other side
        moved = batch_read(client, object_type, missing, properties, not archived)
    out, dropped = [], []
    for rec in results:
        rid = str(rec["id"])
        if rid in extra:
            rec["properties"] = {**(rec.get("properties") or {}), **(extra[rid].get("properties") or {})}
            out.append(rec)
        elif rid in moved:
            newer = moved[rid]
            newer["properties"] = {**(rec.get("properties") or {}), **(newer.get("properties") or {})}
            out.append(newer)
        else:
            dropped.append(rid)
    return out, dropped


def iter_list(client: HubSpotClient, object_type: str, properties: list[str], *, archived: bool,
              after: str | None = None) -> Iterator[Page]:
    """GET /crm/v3/objects/{type} page by page (100 per page), properties chunked as needed."""
    chunks = chunk_properties(properties, client.config.url_property_chars)
    first = chunks[0] if chunks else []
    rest = [p for c in chunks[1:] for p in c]
    seen_cursors: set[str] = set()
    while True:
        body = client.list_page(object_type, first, after, archived)
        results = body.get("results") or []
        dropped: list[str] = []
        if rest and results:
            results, dropped = complete_properties(client, object_type, results, rest, archived)
        nxt = _next_after(body)
        if nxt is not None:
            if nxt in seen_cursors:
                raise ApiError("objects.list", None, f"paging cursor {nxt!r} repeated for {object_type}")
            seen_cursors.add(nxt)
        last_id = str(results[-1]["id"]) if results else None
        yield Page(records_to_table(results, properties), after=nxt, last_id=last_id, dropped=dropped)
        if nxt is None:
            return
        after = nxt


def list_ids(client: HubSpotClient, object_type: str, archived: bool) -> list[pa.Array]:
    """Every id of the live (or archived) listing, one array per page (id reconciliation)."""
    out: list[pa.Array] = []
    after: str | None = None
    seen: set[str] = set()
    while True:
        body = client.list_page(object_type, ["hs_object_id"], after, archived)
        out.append(pa.array([str(r.get("id")) for r in body.get("results") or []], pa.string()))
        after = _next_after(body)
        if after is None:
            return out
        if after in seen:
            raise ApiError("objects.list", None, f"paging cursor {after!r} repeated for {object_type}")
        seen.add(after)


@dataclass
class SearchStats:
    requests: int = 0
    restarts: int = 0
    tie_drains: int = 0
    total: int | None = None


def _search_bound(total: int, limit: int, cap: int) -> int:
    # pages for the records, twice (tie re-reads and records that move during the search), plus slack; ``cap``
    # no longer matters (every request starts at offset 0) but stays in the signature for callers
    return 3 * math.ceil(max(total, 1) / limit) + 10 * (total // max(cap, 1) + 1) + 10


def _ts_ms(rec: dict[str, Any], lm: str) -> int | None:
    ts = parse_ts((rec.get("properties") or {}).get(lm) or rec.get("updatedAt"))
    return to_ms(ts) if ts else None


def iter_search(client: HubSpotClient, object_type: str, properties: list[str], start: datetime,
                end: datetime, stats: SearchStats | None = None) -> Iterator[Page]:
    """Records with last-modified in [start, end], ascending, never capped at 10,000 and never looping.

    Keyset paging: every request is a fresh search from offset 0 with ``last-modified GTE <last timestamp
    seen>``, so a record that changes (moves to the end) or leaves the window mid-search cannot shift an
    offset and make the next page skip a record (matrix row 11), and the 10k offset cap is never reached. The
    ties at the anchor timestamp are re-read (the merge de-duplicates). When a whole page shares the anchor
    timestamp, those ties are drained by ``last-modified EQ ts`` sorted by ``hs_object_id`` with
    ``hs_object_id GT last id`` keysets, then the window continues strictly after that timestamp. The request
    count is bounded from the first ``total``.
    """
    stats = stats if stats is not None else SearchStats()
    lm = last_modified_property(object_type)
    limit = client.config.search_page_size
    cap = client.config.search_result_cap
    end_ms = to_ms(end)
    lower_ms, inclusive = to_ms(start), True
    bound: int | None = None

    def run(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal bound
        stats.requests += 1
        if bound is not None and stats.requests > bound:
            raise RequestBudgetExceeded(f"search on {object_type} exceeded its bound of {bound} requests "
                                        f"(total {stats.total}); refusing to loop")
        resp = client.search(object_type, body)
        if bound is None:
            stats.total = int(resp.get("total") or 0)
            bound = _search_bound(stats.total, limit, cap)
        return resp

    def page_of(results: list[dict[str, Any]]) -> tuple[Page, int | None]:
        table = records_to_table(results, properties)
        if not results:
            return Page(table), None
        last = results[-1]
        last_ms = _ts_ms(last, lm)
        ts = datetime.fromtimestamp(last_ms / 1000, UTC) if last_ms is not None else None
        return Page(table, last_modified=ts, last_id=str(last["id"])), last_ms

    while lower_ms <= end_ms:
        filters = [{"propertyName": lm, "operator": "GTE" if inclusive else "GT", "value": str(lower_ms)},
                   {"propertyName": lm, "operator": "LTE", "value": str(end_ms)}]
        resp = run({"filterGroups": [{"filters": filters}],
                    "sorts": [{"propertyName": lm, "direction": "ASCENDING"}],
                    "properties": properties, "limit": limit, "after": "0"})
        results = resp.get("results") or []
        if not results:
            return
        page, last_ms = page_of(results)
        more = _next_after(resp) is not None
        if last_ms is None:
            raise ApiError("objects.search", None, f"{object_type} record {page.last_id} has no {lm}")
        if more and inclusive and last_ms == lower_ms and _ts_ms(results[0], lm) == lower_ms:
            # a full page of ties at the anchor: offsets cannot get past them, drain them by id
            stats.tie_drains += 1
            yield from _drain_ties(client, object_type, properties, lm, lower_ms, run, page_of)
            lower_ms, inclusive = lower_ms, False
            continue
        yield page
        if not more:
            return
        stats.restarts += 1
        lower_ms, inclusive = last_ms, True


def _drain_ties(client: HubSpotClient, object_type: str, properties: list[str], lm: str, ts_ms: int,
                run: Any, page_of: Any) -> Iterator[Page]:
    """Every record with last-modified == ``ts_ms``, by ``hs_object_id`` keyset (no offsets)."""
    limit = client.config.search_page_size
    last_id: str | None = None
    while True:
        filters: list[dict[str, Any]] = [{"propertyName": lm, "operator": "EQ", "value": str(ts_ms)}]
        if last_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
        resp = run({"filterGroups": [{"filters": filters}],
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    "properties": properties, "limit": limit, "after": "0"})
        results = resp.get("results") or []
        if not results:
            return
        page, _ = page_of(results)
        last_id = str(results[-1]["id"])
        yield page
        if _next_after(resp) is None:
            return
