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
        """Rows ``offset`` .. ``offset + size`` (0-based) in result order."""
        with self.dataset.reading() as cur:
            return cur.execute(
                f"SELECT * FROM {self.table(name)} ORDER BY __rn LIMIT ? OFFSET ?", [size, offset]
            ).fetchall()

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
