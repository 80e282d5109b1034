"""Server-side query cursors: each result is materialised at query time and paged from that snapshot.

A snapshot is a DuckDB table in the ``sfsim`` schema of the dataset's database holding the compiled
query's rows and their position ``__rn``; later changes to the dataset never leak into a cursor that
is already open (Salesforce's query locators behave the same way). Idle cursors expire after
``ttl_seconds`` and, like Salesforce's per-user limit of open cursors, only ``max_open`` stay open:
the least recently used one is closed first, preferring those already read to the end.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ...dataset.store import Dataset, quote_ident
from ..http import HttpError
from .query import CompiledQuery

SNAPSHOT_SCHEMA = "sfsim"
MAX_OPEN_CURSORS = 10
# process-wide, so two simulators sharing one dataset never pick the same snapshot table
_LOCATOR_IDS = itertools.count(1)


class Snapshots:
    """Create, read and drop snapshot tables in the dataset's database."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        with dataset.lock:
            dataset.con.execute(f"CREATE SCHEMA IF NOT EXISTS {SNAPSHOT_SCHEMA}")

    def table(self, name: str) -> str:
        return f"{SNAPSHOT_SCHEMA}.{quote_ident(name)}"

    def create(self, name: str, plan: CompiledQuery) -> int:
        """Materialise ``plan`` as table ``name``; returns its row count."""
        with self.dataset.lock:
            cur = self.dataset.con.cursor()
            try:
                cur.execute(f"CREATE OR REPLACE TABLE {self.table(name)} AS {plan.sql}", plan.params)
                return cur.execute(f"SELECT count(*) FROM {self.table(name)}").fetchall()[0][0]
            finally:
                cur.close()

    def rows(self, name: str, offset: int, size: int) -> list[tuple[Any, ...]]:
        """Rows ``offset`` .. ``offset + size`` (0-based) in result order.

        ``__rn`` is a row_number() over the query's filtered rows, kept for the range
        ``(q.offset, q.offset + q.limit]``: contiguous, so a page is a range filter on it (zone maps skip
        the rest) instead of ``ORDER BY __rn LIMIT/OFFSET``, which sorts the whole snapshot on every page.
        """
        with self.dataset.reading() as cur:
            table = self.table(name)
            base = cur.execute(f"SELECT coalesce(min(__rn), 1) - 1 FROM {table}").fetchall()[0][0]
            return cur.execute(
                f"SELECT * FROM {table} WHERE __rn > ? AND __rn <= ? ORDER BY __rn",
                [base + offset, base + offset + size],
            ).fetchall()

    def csv_page(self, name: str, offset: int, size: int, columns: list[tuple[int, str]], delimiter: str,
                 line_ending: str) -> tuple[str, int] | None:
        """Rows ``offset`` .. ``offset + size`` rendered as Bulk CSV lines by DuckDB: ``(text, rows)``.

        ``columns`` = (result index, describe type) in CSV order. Each cell is what ``query.csv_value``
        gives, quoted (``"`` doubled), nulls empty; lines end with ``line_ending`` (the last one too).
        None when a column's storage type has no exact SQL rendering here (the caller renders in Python).
        """
        with self.dataset.reading() as cur:
            table = self.table(name)
            types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
            cells = []
            for index, sf_type in columns:
                col = f"c{index}"
                text = _csv_text_sql(quote_ident(col), types.get(col, ""), sf_type)
                if text is None:
                    return None
                cells.append(f"coalesce('\"' || replace({text}, '\"', '\"\"') || '\"', '')")
            line = " || ? || ".join(cells) if cells else "''"
            base = cur.execute(f"SELECT coalesce(min(__rn), 1) - 1 FROM {table}").fetchall()[0][0]
            params: list[Any] = [delimiter] * max(0, len(cells) - 1)
            row = cur.execute(
                f"SELECT string_agg(({line}) || ?, '' ORDER BY __rn), count(*) FROM {table} "
                "WHERE __rn > ? AND __rn <= ?",
                [*params, line_ending, base + offset, base + offset + size],
            ).fetchall()[0]
            return (row[0] or ""), int(row[1])

    def drop(self, name: str) -> None:
        with self.dataset.lock:
            self.dataset.con.execute(f"DROP TABLE IF EXISTS {self.table(name)}")


@dataclass
class Cursor:
    locator: str
    plan: CompiledQuery
    total: int
    include_deleted: bool
    last_used: float = field(default_factory=time.monotonic)
    exhausted: bool = False  # the last page has been served
    tails: dict[int, dict[str, Any]] = field(default_factory=dict)  # offset -> last record served (repeat_record)

    @property
    def table(self) -> str:
        return f"q_{self.locator}"


def invalid_locator(locator: str) -> HttpError:
    return HttpError(400, "INVALID_QUERY_LOCATOR", f"invalid query locator: {locator}")


class CursorStore:
    def __init__(self, snapshots: Snapshots, ttl_seconds: float, max_open: int = MAX_OPEN_CURSORS) -> None:
        self.snapshots = snapshots
        self.ttl_seconds = ttl_seconds
        self.max_open = max_open
        self._cursors: dict[str, Cursor] = {}
        self._lock = threading.Lock()

    def open(self, plan: CompiledQuery, include_deleted: bool) -> Cursor:
        self.expire()
        locator = f"01g5g{next(_LOCATOR_IDS):010d}AAA"
        cursor = Cursor(locator, plan, 0, include_deleted)
        cursor.total = self.snapshots.create(cursor.table, plan)
        with self._lock:
            self._cursors[locator] = cursor
            evict = self._over_limit()
        for old in evict:
            self.snapshots.drop(old.table)
        return cursor

    def get(self, locator: str) -> Cursor:
        self.expire()
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None:
                raise invalid_locator(locator)
            cursor.last_used = time.monotonic()
            return cursor

    def page(self, cursor: Cursor, offset: int, size: int) -> list[tuple[Any, ...]]:
        rows = self.snapshots.rows(cursor.table, offset, size)
        if offset + len(rows) >= cursor.total:
            cursor.exhausted = True
        return rows

    def close(self, cursor: Cursor) -> None:
        with self._lock:
            self._cursors.pop(cursor.locator, None)
        self.snapshots.drop(cursor.table)

    def expire(self) -> None:
        """Close cursors idle for longer than the TTL and drop their snapshots."""
        now = time.monotonic()
        with self._lock:
            stale = [c for c in self._cursors.values() if now - c.last_used > self.ttl_seconds]
            for cursor in stale:
                del self._cursors[cursor.locator]
        for cursor in stale:
            self.snapshots.drop(cursor.table)

    def close_all(self) -> None:
        with self._lock:
            cursors = list(self._cursors.values())
            self._cursors.clear()
        for cursor in cursors:
            self.snapshots.drop(cursor.table)

    def _over_limit(self) -> list[Cursor]:
        excess = len(self._cursors) - self.max_open
        if excess <= 0:
            return []
        victims = sorted(self._cursors.values(), key=lambda c: (not c.exhausted, c.last_used))[:excess]
        for cursor in victims:
            del self._cursors[cursor.locator]
        return victims

    def __len__(self) -> int:
        with self._lock:
            return len(self._cursors)


def _csv_text_sql(col: str, duck_type: str, sf_type: str) -> str | None:
    """SQL giving ``query.csv_value`` of a stored value as text (NULL for null), or None if not exact."""
    if sf_type == "datetime":
        # naive UTC timestamps; csv_value: %Y-%m-%dT%H:%M:%S. + milliseconds + Z
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'" if duck_type == "TIMESTAMP" else None
    if sf_type == "date":
        return f"CAST({col} AS VARCHAR)" if duck_type == "DATE" else None
    if duck_type == "BOOLEAN":
        return f"CASE WHEN {col} THEN 'true' ELSE 'false' END"
    if duck_type in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
        return f"CAST({col} AS VARCHAR)"
    if sf_type in ("int", "long") and duck_type == "DOUBLE":
        return f"CAST(CAST(trunc({col}) AS HUGEINT) AS VARCHAR)"
    if duck_type == "VARCHAR":
        return col
    if duck_type == "DOUBLE":  # DuckDB prints doubles as Python's str() does (shortest round-trip form)
        return f"CAST({col} AS VARCHAR)"
    return None  # anything else: rendered in Python
