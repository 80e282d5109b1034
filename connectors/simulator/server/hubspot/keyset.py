"""List-page keysets: a cached numeric-id order per object table, so a list page reads about ``limit`` rows by
rowid instead of casting and sorting the whole table on every request (~14 ms per page on 210k emails).

The cache is only a hint and is verified on every use, so pages stay exact while tests or ``advance()`` write
to the dataset: it is rebuilt when the table's row count or highest rowid moves (inserts, deletes), and a page
is accepted only when every row read by rowid still carries the id the cache recorded for that rowid. Anything
the cache cannot answer exactly (non-numeric ids, a stale entry, a very sparse filter) returns ``None`` and the
caller reads the page the slow way. Call under the dataset lock (``Dataset.reading``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

MAX_WINDOW = 20_000  # rowids per page read; sparser filters (e.g. archived=true) take the slow path


@dataclass
class _Index:
    fingerprint: tuple[Any, ...]
    n: np.ndarray  # numeric ids, ascending (ties ordered by the id text, as ID_ORDER)
    rowid: np.ndarray
    matching: dict[bool, np.ndarray]  # flag -> m, m[i] = entries with that archived flag among the first i
    exact: bool  # False when some id is not numeric: that table always takes the slow path


def fingerprint(cur: duckdb.DuckDBPyConnection, table: str) -> tuple[Any, ...]:
    """Moves on every insert and delete (updates keep rowids, and every read is checked row by row)."""
    return tuple(cur.execute(f"SELECT count(*), max(rowid) FROM {table}").fetchone() or ())


class KeysetCache:
    def __init__(self) -> None:
        self._indexes: dict[str, _Index] = {}

    def _index(self, cur: duckdb.DuckDBPyConnection, table: str) -> _Index | None:
        fp = fingerprint(cur, table)
        idx = self._indexes.get(table)
        if idx is None or idx.fingerprint != fp:
            cols = cur.execute(
                f"SELECT TRY_CAST(id AS BIGINT) AS n, rowid AS r, archived AS a FROM {table} ORDER BY n, id"
            ).fetchnumpy()
            n = cols["n"]
            exact = not np.ma.is_masked(n) and not np.ma.getmaskarray(cols["a"]).any()
            archived = np.asarray(np.ma.filled(cols["a"], False), dtype=bool)
            before = np.concatenate(([0], np.cumsum(archived, dtype=np.int64)))
            idx = _Index(
                fp,
                np.asarray(np.ma.filled(n, 0), dtype=np.int64),
                np.asarray(cols["r"], dtype=np.int64),
                {True: before, False: np.arange(len(archived) + 1) - before},
                exact,
            )
            self._indexes[table] = idx
        return idx if idx.exact else None

    def page(
        self,
        cur: duckdb.DuckDBPyConnection,
        table: str,
        after: int | None,
        archived: bool,
        want: int,
        read: Callable[[int, int, list[int] | None], list[tuple[Any, ...]]],
    ) -> list[tuple[Any, ...]] | None:
        """The first ``want`` rows with numeric id > ``after`` and the given archived flag, or None (slow path).

        ``read(lo, hi, rowids)`` returns the rows ``(rowid, id, ...)`` with the archived flag and rowid in
        ``[lo, hi]`` (and in ``rowids`` unless None), in any order.
        """
        idx = self._index(cur, table)
        if idx is None:
            return None
        total = len(idx.n)
        start = 0 if after is None else int(np.searchsorted(idx.n, after, side="right"))
        matching = idx.matching[archived]
        need = want
        while True:
            stop = min(int(np.searchsorted(matching, matching[start] + need, side="left")), total)
            if start < stop < total:  # keep equal ids together: the page must see every row of its last id
                stop = int(np.searchsorted(idx.n, idx.n[stop - 1], side="right"))
            if stop - start > MAX_WINDOW:
                return None
            if stop == start:
                return []
            window = idx.rowid[start:stop]
            lo, hi = int(window.min()), int(window.max())
            # a contiguous rowid range is read by range (zone maps); a scattered window by its rowids
            rows = read(lo, hi, None if hi - lo < 4 * len(window) else window.tolist())
            expected = dict(zip(window.tolist(), idx.n[start:stop].tolist(), strict=True))
            keyed = []
            for row in rows:
                n = expected.get(row[0])
                if n is None:
                    continue  # in the rowid range, but another page's row
                try:
                    same = n == int(row[1])
                except (TypeError, ValueError):
                    same = False
                if not same:  # rowids moved under the cache (e.g. a vacuum): rebuild next time
                    self._indexes.pop(table, None)
                    return None
                keyed.append((n, row[1], row))
            keyed.sort(key=lambda k: (k[0], k[1]))
            if len(keyed) >= want or stop == total:
                return [k[2] for k in keyed[:want]]
            need *= 2  # rows in the window changed their archived flag: widen it
