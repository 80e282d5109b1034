"""Vectorised helpers shared by the renderers: audit stamps, soft deletes and HubSpot wire strings."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.simulator.dataset.store import ASSOCIATION_COLUMNS, Dataset, duck_type, quote_ident, stored_fields

MS_PER_DAY = 86_400_000
RECYCLE_BIN_DAYS = 15


def day_to_ms(days: np.ndarray, rng: np.random.Generator, business_hours: bool = True) -> np.ndarray:
    """datetime64[D] -> datetime64[ms] at a random time of that day (08:00-18:00 UTC for people)."""
    n = len(days)
    offset = rng.integers(8 * 3600000, 18 * 3600000, n) if business_hours else rng.integers(0, MS_PER_DAY, n)
    return days.astype("datetime64[ms]") + offset.astype("timedelta64[ms]")


def before(ts: np.ndarray, clock: np.datetime64) -> np.ndarray:
    """Clamp timestamps to strictly before the clock (a second to a minute before it)."""
    latest = clock - np.timedelta64(1, "s")
    return np.minimum(ts, latest)


def audit_stamps(
    rng: np.random.Generator, created: np.ndarray, clock: np.datetime64, p_modified: float = 0.55
) -> tuple[np.ndarray, np.ndarray]:
    """(LastModifiedDate, SystemModstamp) with SystemModstamp >= LastModifiedDate >= CreatedDate < clock."""
    n = len(created)
    span = (clock - created).astype(np.int64)
    frac = np.where(rng.random(n) < p_modified, rng.random(n) ** 2, 0.0)  # edits cluster after creation
    last = created + (span * frac * 0.999).astype("timedelta64[ms]")
    system_bump = np.where(rng.random(n) < 0.1, rng.integers(1, 86_400_000, n), 0)
    mod = last + np.minimum(system_bump, (clock - last).astype(np.int64) - 1000).clip(0).astype("timedelta64[ms]")
    return before(last, clock), before(mod, clock)


def recent_stamps(rng: np.random.Generator, n: int, clock: np.datetime64, days: int = RECYCLE_BIN_DAYS) -> np.ndarray:
    """Times within the last ``days`` days (e.g. soft deletes still in the recycle bin)."""
    back = rng.integers(60_000, days * MS_PER_DAY - 60_000, n)
    return clock - back.astype("timedelta64[ms]")


def pick(rng: np.random.Generator, eligible: np.ndarray, share: float) -> np.ndarray:
    """A boolean mask choosing about ``share`` of the eligible rows."""
    return eligible & (rng.random(len(eligible)) < share)


def hs_datetime(ts: np.ndarray | pa.Array) -> pa.Array:
    """HubSpot datetime strings ``...sssZ`` (nulls stay null)."""
    arr = ts if isinstance(ts, pa.Array) else pa.array(np.asarray(ts, dtype="datetime64[ms]"))
    return pc.strftime(arr, format="%Y-%m-%dT%H:%M:%SZ")


def hs_date(days: np.ndarray) -> pa.Array:
    return pc.strftime(pa.array(np.asarray(days, dtype="datetime64[D]")), format="%Y-%m-%d")


def money(values: np.ndarray, decimals: int = 2) -> list[str | None]:
    """Numbers as HubSpot sends them: ``"1500.00"``; NaN -> null."""
    fmt = f"{{:.{decimals}f}}"
    return [None if v != v else fmt.format(v) for v in np.asarray(values, dtype=float).tolist()]


def integers(values: np.ndarray) -> list[str]:
    return [str(v) for v in np.asarray(values, dtype=np.int64).tolist()]


def bools(values: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(values, dtype=bool), "true", "false")


def nullable(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    """``values`` where ``mask`` is true, null elsewhere."""
    return pa.array(np.asarray(values), mask=~np.asarray(mask, dtype=bool))


def take(ids: np.ndarray | pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``ids[idx]`` as an Arrow string array (null where ``mask`` is false).

    Arrow strings cost ~22 bytes per 18-char id against 72 for a numpy ``U18`` array, which
    matters for the millions of activity rows.
    """
    arr = ids if isinstance(ids, pa.Array) else pa.array(ids)
    index = pa.array(np.asarray(idx, dtype=np.int64), mask=None if mask is None else ~np.asarray(mask, dtype=bool))
    return arr.take(index)


def _ids(values: Sequence[str] | np.ndarray | pa.Array) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(np.asarray(values))


def associations(
    from_type: str,
    to_type: str,
    from_ids: Sequence[str] | np.ndarray,
    to_ids: Sequence[str] | np.ndarray,
    type_id: int,
    category: str = "HUBSPOT_DEFINED",
    label: str | None = None,
) -> pa.Table:
    n = len(from_ids)
    return pa.table(
        {
            "from_type": pa.array([from_type] * n, pa.string()).dictionary_encode(),
            "to_type": pa.array([to_type] * n, pa.string()).dictionary_encode(),
            "from_id": _ids(from_ids),
            "to_id": _ids(to_ids),
            "category": pa.array([category] * n, pa.string()).dictionary_encode(),
            "type_id": pa.array(np.full(n, type_id, dtype=np.int32)),
            "label": pa.array([label] * n, pa.string()),
        }
    ).select(list(ASSOCIATION_COLUMNS))


def append_sf(ds: Dataset, obj: str, data: pa.Table, cur: duckdb.DuckDBPyConnection | None = None) -> None:
    """Append rows to an existing Salesforce table with the same casts as ``Dataset.put_sf``.

    ``cur``: write through this cursor (e.g. inside its open transaction) instead of a new one.
    """
    fields = {f["name"]: f for f in stored_fields(ds.sf_describe[obj])}
    extra = [c for c in data.column_names if c not in fields]
    if extra:
        raise ValueError(f"{obj}: columns {extra} are not in its describe")
    names = list(data.column_names)
    select = ", ".join(f"CAST(src.{quote_ident(c)} AS {duck_type(fields[c])})" for c in names)
    with ds.lock:
        own = cur is None
        cur = ds.con.cursor() if cur is None else cur
        cur.register("src", data)
        cur.execute(
            f"INSERT INTO {ds.sf_table(obj)} ({', '.join(quote_ident(c) for c in names)}) SELECT {select} FROM src"
        )
        cur.unregister("src")
        if own:
            cur.close()


def append_hs(ds: Dataset, object_type: str, data: pa.Table, cur: duckdb.DuckDBPyConnection | None = None) -> None:
    """Append rows to an existing HubSpot table (base columns typed, properties as wire strings)."""
    with ds.lock:
        own = cur is None
        cur = ds.con.cursor() if cur is None else cur
        have = {
            r[0]
            for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'hs' AND table_name = ?",
                [object_type],
            ).fetchall()
        }
        extra = [c for c in data.column_names if c not in have]
        if extra:
            if own:
                cur.close()
            raise ValueError(f"hubspot {object_type}: properties {extra} are not defined")
        base = {"createdAt": "TIMESTAMP", "updatedAt": "TIMESTAMP", "archived": "BOOLEAN", "archivedAt": "TIMESTAMP"}
        names = list(data.column_names)
        select = ", ".join(f"CAST(src.{quote_ident(c)} AS {base.get(c, 'VARCHAR')})" for c in names)
        cur.register("src", data)
        cols = ", ".join(quote_ident(c) for c in names)
        cur.execute(f"INSERT INTO {ds.hs_table(object_type)} ({cols}) SELECT {select} FROM src")
        cur.unregister("src")
        if own:
            cur.close()
