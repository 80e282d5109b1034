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


@dataclass
class SearchStats:
    requests: int = 0
    restarts: int = 0
    tie_drains: int = 0
    total: int | None = None


def _search_bound(total: int, limit: int, cap: int) -> int:
    # pages for the records, twice (restarts may re-read at most half a capped search), plus restart slack
    return 3 * math.ceil(max(total, 1) / limit) + 10 * (total // cap + 1) + 10


def iter_search(client: HubSpotClient, object_type: str, properties: list[str], start: datetime,
                end: datetime, stats: SearchStats | None = None) -> Iterator[Page]:
    """Records with last-modified in [start, end], ascending, never capped at 10,000 and never looping.

    Pages by ``after`` until the next page would cross the result cap, then starts a new search from
    the last timestamp seen (GTE; re-reads ties at that timestamp, which the merge de-duplicates). When
    more than half a capped search shares one timestamp, those ties are drained by a separate search on
    ``last-modified EQ ts`` sorted by ``hs_object_id`` with ``hs_object_id GT last id`` restarts, then the
    window continues strictly after that timestamp. The request count is bounded from the first ``total``.
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
        ts = parse_ts((last.get("properties") or {}).get(lm) or last.get("updatedAt"))
        return Page(table, last_modified=ts, last_id=str(last["id"])), (to_ms(ts) if ts else None)

    while lower_ms <= end_ms:
        filters = [{"propertyName": lm, "operator": "GTE" if inclusive else "GT", "value": str(lower_ms)},
                   {"propertyName": lm, "operator": "LTE", "value": str(end_ms)}]
        body: dict[str, Any] = {"filterGroups": [{"filters": filters}],
                                "sorts": [{"propertyName": lm, "direction": "ASCENDING"}],
                                "properties": properties, "limit": limit, "after": "0"}
        after = 0
        last_ms: int | None = None
        tail_ties = 0  # records at the end of this search sharing last_ms
        while True:
            resp = run({**body, "after": str(after)})
            results = resp.get("results") or []
            page, page_last = page_of(results)
            for rec in results:
                rec_ms = (page_last if rec is results[-1] else
                          to_ms(parse_ts((rec.get("properties") or {}).get(lm) or rec.get("updatedAt"))))
                tail_ties = tail_ties + 1 if rec_ms == last_ms else 1
                last_ms = rec_ms
            if results:
                yield page
            nxt = _next_after(resp)
            if nxt is None or not results:
                return
            after = int(nxt)
            if after + limit > cap:
                break
        stats.restarts += 1
        if last_ms is None:
            return
        if tail_ties * 2 > cap or (inclusive and last_ms == lower_ms):
            stats.tie_drains += 1
            yield from _drain_ties(client, object_type, properties, lm, last_ms, run, page_of)
            lower_ms, inclusive = last_ms, False
        else:
            lower_ms, inclusive = last_ms, True


def _drain_ties(client: HubSpotClient, object_type: str, properties: list[str], lm: str, ts_ms: int,
                run: Any, page_of: Any) -> Iterator[Page]:
    limit = client.config.search_page_size
    cap = client.config.search_result_cap
    last_id: str | None = None
    while True:
        filters: list[dict[str, Any]] = [{"propertyName": lm, "operator": "EQ", "value": str(ts_ms)}]
        if last_id is not None:
            filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": last_id})
        body = {"filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": properties, "limit": limit}
        after = 0
        while True:
            resp = run({**body, "after": str(after)})
            results = resp.get("results") or []
            if results:
                page, _ = page_of(results)
                last_id = str(results[-1]["id"])
                yield page
            nxt = _next_after(resp)
            if nxt is None or not results:
                return
            after = int(nxt)
            if after + limit > cap:
                break
