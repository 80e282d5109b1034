"""The simulator's dataset: every CRM object the two fake APIs serve, held in one in-memory DuckDB.

Conventions (shared by the generator, the folder reader/writer and both HTTP fakes):

* Salesforce objects live in schema ``sf``, one table per sObject named by its API name
  (``sf."Account"``). Columns are the object's non-compound fields, named exactly as the API
  names them, typed by :func:`duck_type` (datetimes are naive ``TIMESTAMP`` in UTC, ms precision).
  ``Dataset.sf_describe[obj]`` is the object's describe document in the REST API's shape.
* HubSpot objects live in schema ``hs``, one table per object type (``hs."companies"``) with columns
  ``id``, ``createdAt``, ``updatedAt``, ``archived``, ``archivedAt`` and one ``VARCHAR`` column per
  property holding the wire string (HubSpot sends every property value as a string).
* HubSpot associations live in ``hs."associations"`` (:data:`ASSOCIATION_COLUMNS`), one row per
  (from, to, association type), stored in each direction that the API answers.
* Ground truth tables are pandas DataFrames in ``Dataset.ground_truth``.

DuckDB connections are not shared across threads: use :meth:`Dataset.cursor` per thread and
:attr:`Dataset.lock` around writes so readers never see half an update.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

SF_SCHEMA = "sf"
HS_SCHEMA = "hs"
HS_BASE_COLUMNS = ("id", "createdAt", "updatedAt", "archived", "archivedAt")
ASSOCIATION_COLUMNS = ("from_type", "to_type", "from_id", "to_id", "category", "type_id", "label")

# Salesforce describe `type` -> DuckDB column type. Anything not listed is text.
_SF_DUCK_TYPES = {
    "boolean": "BOOLEAN",
    "int": "BIGINT",
    "long": "BIGINT",
    "double": "DOUBLE",
    "currency": "DOUBLE",
    "percent": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
SF_COMPOUND_TYPES = frozenset({"address", "location"})
DEFAULT_MEMORY_LIMIT = "768MB"  # DuckDB's buffer pool for one dataset; the rest spills to its file


def duck_type(sf_field: dict[str, Any]) -> str:
    """DuckDB column type for a Salesforce describe field."""
    return _SF_DUCK_TYPES.get(sf_field["type"], "VARCHAR")


def stored_fields(describe: dict[str, Any]) -> list[dict[str, Any]]:
    """The describe fields that are stored as columns (compound fields are derived, not stored)."""
    return [f for f in describe["fields"] if f["type"] not in SF_COMPOUND_TYPES]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- wire formats ---------------------------------------------------------------------------

def sf_format_datetime(value: datetime) -> str:
    """Salesforce REST datetime: ``2024-01-15T10:20:30.000+0000`` (always UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def sf_parse_datetime(text: str) -> datetime:
    """Parse a Salesforce datetime (``+0000``, ``Z`` or ``+hh:mm`` forms) into naive UTC."""
    value = datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def hs_format_datetime(value: datetime) -> str:
    """HubSpot datetime: ``2024-01-02T03:04:05.678Z`` (always UTC, ms)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def sf_json_value(value: Any, sf_type: str) -> Any:
    """A stored column value as the Salesforce REST API renders it in JSON."""
    if value is None:
        return None
    if sf_type == "datetime":
        return sf_format_datetime(value)
    if sf_type == "date":
        return value.isoformat()
    if sf_type in ("double", "currency", "percent"):
        return float(value)
    if sf_type in ("int", "long"):
        return int(value)
    return value


def sf_python_value(value: Any, sf_type: str) -> Any:
    """A JSON value from a Salesforce record as the Python value stored in its column."""
    if value is None:
        return None
    if sf_type == "datetime":
        return sf_parse_datetime(value)
    if sf_type == "date":
        return date.fromisoformat(value)
    if sf_type in ("double", "currency", "percent"):
        return float(value)
    if sf_type in ("int", "long"):
        return int(value)
    if sf_type == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"expected true/false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


# ---- the container --------------------------------------------------------------------------

@dataclass
class Dataset:
    """Every record, describe and piece of metadata the simulator serves, plus the ground truth."""

    con: duckdb.DuckDBPyConnection
    clock: datetime  # the simulated "now" (UTC, tz-aware); every record is stamped before it
    sf_describe: dict[str, dict[str, Any]] = field(default_factory=dict)
    hs_properties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hs_owners: list[dict[str, Any]] = field(default_factory=list)
    hs_pipelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ground_truth: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def empty(cls, clock: datetime, memory_limit: str = DEFAULT_MEMORY_LIMIT, **kwargs: Any) -> Dataset:
        """A new dataset backed by a private, compressed DuckDB file in a temporary folder.

        A file rather than ``:memory:`` because DuckDB compresses and can evict file-backed tables,
        which keeps the ``large`` preset (about 3.5M records) within a 2 GiB process; the folder is
        removed when the dataset is garbage-collected or the process exits.
        """
        if clock.tzinfo is None:
            raise ValueError("Dataset clock must be timezone-aware (UTC)")
        folder = tempfile.mkdtemp(prefix="acctwh-dataset-")
        con = duckdb.connect(os.path.join(folder, "dataset.duckdb"),
                             config={"memory_limit": memory_limit, "temp_directory": os.path.join(folder, "tmp")})
        weakref.finalize(con, _remove_folder, folder)
        con.execute(f"CREATE SCHEMA {SF_SCHEMA}")
        con.execute(f"CREATE SCHEMA {HS_SCHEMA}")
        con.execute(
            f"CREATE TABLE {HS_SCHEMA}.associations (from_type VARCHAR, to_type VARCHAR, from_id VARCHAR,"
            " to_id VARCHAR, category VARCHAR, type_id INTEGER, label VARCHAR)"
        )
        return cls(con=con, clock=clock, **kwargs)

    # -- access ------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (DuckDB connections must not be shared)."""
        return self.con.cursor()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor held under the dataset lock, so a read never interleaves with an update."""
        with self.lock:
            cur = self.con.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def sf_objects(self) -> list[str]:
        return sorted(self.sf_describe)

    def hs_object_types(self) -> list[str]:
        with self.reading() as cur:
            rows = cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name <> 'associations' ORDER BY 1",
                [HS_SCHEMA],
            ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def sf_table(obj: str) -> str:
        return f"{SF_SCHEMA}.{quote_ident(obj)}"

    @staticmethod
    def hs_table(object_type: str) -> str:
        return f"{HS_SCHEMA}.{quote_ident(object_type)}"

    def hs_property_names(self, object_type: str) -> list[str]:
        """Property columns of an object type, in table order."""
        with self.reading() as cur:
            rows = cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
                " ORDER BY ordinal_position",
                [HS_SCHEMA, object_type],
            ).fetchall()
        return [r[0] for r in rows if r[0] not in HS_BASE_COLUMNS]

    def count(self, table: str) -> int:
        with self.reading() as cur:
            return cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    # -- writes ------------------------------------------------------------------------------
    def put_sf(self, obj: str, describe: dict[str, Any], data: pa.Table | pd.DataFrame | None) -> None:
        """Create or replace a Salesforce object's table from ``data`` (columns by field name).

        Fields missing from ``data`` become NULL columns; columns not in the describe are an error,
        so the describe always tells the truth about what is served.
        """
        fields = stored_fields(describe)
        names = [f["name"] for f in fields]
        if data is not None:
            extra = [c for c in _column_names(data) if c not in names]
            if extra:
                raise ValueError(f"{obj}: columns {extra} are not in its describe")
        cols = ", ".join(f"{quote_ident(f['name'])} {duck_type(f)}" for f in fields)
        table = self.sf_table(obj)
        with self.lock:
            cur = self.con.cursor()
            cur.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
            if data is not None and _num_rows(data) > 0:
                present = [n for n in names if n in _column_names(data)]
                select = ", ".join(
                    f"CAST(src.{quote_ident(n)} AS {duck_type(f)})"
                    for n, f in zip(names, fields, strict=True)
                    if n in present
                )
                cur.register("src", data)
                cur.execute(
                    f"INSERT INTO {table} ({', '.join(quote_ident(n) for n in present)}) SELECT {select} FROM src"
                )
                cur.unregister("src")
            cur.close()
            self.sf_describe[obj] = describe

    def put_hs(self, object_type: str, data: pa.Table | pd.DataFrame, properties: list[str] | None = None) -> None:
        """Create or replace a HubSpot object type's table.

        ``data`` has the base columns plus one column per property; property columns are cast to
        VARCHAR. ``properties`` adds empty columns for defined properties that no record sets.
        """
        columns = _column_names(data)
        missing = [c for c in HS_BASE_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"hubspot {object_type}: missing base columns {missing}")
        props = [c for c in columns if c not in HS_BASE_COLUMNS]
        for extra in properties or []:
            if extra not in props:
                props.append(extra)
        table = self.hs_table(object_type)
        select = [
            "CAST(src.id AS VARCHAR) AS id",
            'CAST(src."createdAt" AS TIMESTAMP) AS "createdAt"',
            'CAST(src."updatedAt" AS TIMESTAMP) AS "updatedAt"',
            "CAST(src.archived AS BOOLEAN) AS archived",
            'CAST(src."archivedAt" AS TIMESTAMP) AS "archivedAt"',
        ]
        for p in props:
            q = quote_ident(p)
            select.append(f"CAST(src.{q} AS VARCHAR) AS {q}" if p in columns else f"CAST(NULL AS VARCHAR) AS {q}")
        with self.lock:
            cur = self.con.cursor()
            cur.register("src", data)
            with _uncompressed(cur):
                cur.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(select)} FROM src")
            cur.unregister("src")
            cur.close()

    def put_associations(self, data: pa.Table | pd.DataFrame) -> None:
        """Append association rows (columns :data:`ASSOCIATION_COLUMNS`)."""
        cols = ", ".join(ASSOCIATION_COLUMNS)
        with self.lock:
            cur = self.con.cursor()
            cur.register("src", data)
            cur.execute(
                f"INSERT INTO {HS_SCHEMA}.associations ({cols}) SELECT CAST(from_type AS VARCHAR), "
                "CAST(to_type AS VARCHAR), CAST(from_id AS VARCHAR), CAST(to_id AS VARCHAR), "
                "CAST(category AS VARCHAR), CAST(type_id AS INTEGER), CAST(label AS VARCHAR) FROM src"
            )
            cur.unregister("src")
            cur.close()

    # -- reads for tests and tools -----------------------------------------------------------
    def sf_records(self, obj: str, where: str = "", params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Records of an object as the REST API renders them (no ``attributes``), ordered by Id."""
        fields = stored_fields(self.sf_describe[obj])
        names = [f["name"] for f in fields]
        sql = f"SELECT {', '.join(quote_ident(n) for n in names)} FROM {self.sf_table(obj)}"
        if where:
            sql += f" WHERE {where}"
        sql += ' ORDER BY "Id"'
        with self.reading() as cur:
            rows = cur.execute(sql, params or []).fetchall()
        types = [f["type"] for f in fields]
        return [
            {n: sf_json_value(v, t) for n, v, t in zip(names, row, types, strict=True)} for row in rows
        ]

    def hs_records(self, object_type: str) -> list[dict[str, Any]]:
        """Records of a HubSpot object type in the folder format, ordered by numeric id."""
        props = self.hs_property_names(object_type)
        cols = ", ".join(quote_ident(c) for c in (*HS_BASE_COLUMNS, *props))
        with self.reading() as cur:
            rows = cur.execute(
                f"SELECT {cols} FROM {self.hs_table(object_type)} ORDER BY TRY_CAST(id AS BIGINT), id"
            ).fetchall()
        out = []
        for row in rows:
            rec_id, created, updated, archived, archived_at, *values = row
            rec: dict[str, Any] = {
                "id": rec_id,
                "properties": dict(zip(props, values, strict=True)),
                "createdAt": hs_format_datetime(created) if created else None,
                "updatedAt": hs_format_datetime(updated) if updated else None,
                "archived": bool(archived),
            }
            if archived_at is not None:
                rec["archivedAt"] = hs_format_datetime(archived_at)
            out.append(rec)
        return out


@contextmanager
def _uncompressed(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Write HubSpot tables uncompressed: list pages read ~100 rows by rowid, and a random read into a
    DICT_FSST segment costs ~5x an uncompressed one (7 vs 1.5 ms per deals page). Compression is chosen at
    checkpoint time, so checkpoint before (other tables keep theirs) and after; best effort: a checkpoint
    refused because another transaction is open only costs speed."""

    def checkpoint() -> None:
        with suppress(duckdb.Error):
            cur.execute("CHECKPOINT")

    checkpoint()
    cur.execute("SET force_compression = 'uncompressed'")
    try:
        yield
        checkpoint()
    finally:
        cur.execute("RESET force_compression")


def _remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _column_names(data: pa.Table | pd.DataFrame) -> list[str]:
    return list(data.column_names) if isinstance(data, pa.Table) else [str(c) for c in data.columns]


def _num_rows(data: pa.Table | pd.DataFrame) -> int:
    return data.num_rows if isinstance(data, pa.Table) else len(data)
