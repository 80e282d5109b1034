"""The raw landing layer: typed DuckDB tables, idempotent merges and per-stream state in one transaction.

One :class:`RawWarehouse` owns the working DuckDB file (single writer; ``read_only=True`` for checks). Extractors
hand it Arrow batches whose columns are API names (Salesforce field names, HubSpot property names plus ``id``,
``created_at``, ``updated_at``, ``archived``, ``archived_at``) holding text (Bulk CSV, HubSpot) or JSON-native
values (Salesforce REST).

Staging
    Every batch column is first turned into canonical text in Arrow (``True`` -> ``"true"``, ``1500.0`` ->
    ``"1500"``, ``1234.56`` -> ``"1234.56"`` by shortest round-trip repr, lists ``;``-joined), then cast in SQL with
    :func:`columns.cast_sql`. The REST and the Bulk form of one record therefore become byte-identical rows, and
    a float never touches a DECIMAL column as binary floating point (``1.005`` stays ``1.005`` -> ``1.01``).

    **Empty string -> NULL** for every column type: Salesforce REST never returns ``""`` (it returns null), Bulk CSV
    cannot tell null from ``""`` and HubSpot uses both for "no value", so ``""`` and null are the same value here.

Merging
    ``merge`` runs inside ONE transaction: optional DDL (``columns=``), stage + cast (CAST, never TRY_CAST: a value
    that does not convert raises :class:`LoadError` naming ``schema.table``, the primary key value, the column and
    the value), de-duplication by (pk, cursor desc, batch position desc), ``MERGE`` on the pk that updates only rows
    whose data changed (``IS DISTINCT FROM`` on every batch column and the delete flags), and the stream state. Any
    error rolls everything back. ``_loaded_at`` changes only for inserted or changed rows, so merging the same batch
    twice leaves the table byte-identical.

Deletes
    ``_is_deleted``/``_deleted_at`` come from ``deleted_column`` (Salesforce ``IsDeleted``, HubSpot ``archived``)
    with ``_deleted_at`` = ``deleted_at_column`` or else the cursor of that version; a later version with the flag
    false clears both (undelete). Without ``deleted_column`` a merge leaves the flags of existing rows as they are
    (new rows are not deleted). ``flag_missing_as_deleted`` handles hard deletes by reconciliation. Nothing is
    ever physically deleted.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.warehouse.columns import (
    Column,
    HostileIdentifierError,
    cast_sql,
    check_collisions,
    normalize_type,
    quote_ident,
    try_cast_sql,
    validate_identifier,
)
from connectors.warehouse.erase import drop_suppressed
from connectors.warehouse.errors import LoadError, SchemaDriftError
from connectors.warehouse.recovery import Quarantine, recover_working_file
from connectors.warehouse.state import StreamState

__all__ = [
    "ASSOCIATION_COLUMNS",
    "META_COLUMNS",
    "MergeCounts",
    "RawWarehouse",
    "SchemaChange",
    "association_table",
]

META_COLUMNS = ("_loaded_at", "_is_deleted", "_deleted_at")
SCHEMA_POLICIES = ("evolve", "fail")
ASSOCIATION_COLUMNS = (
    Column("from_id", "VARCHAR", "id"),
    Column("to_id", "VARCHAR", "id"),
    Column("type_id", "BIGINT", "associationTypeId"),
    Column("category", "VARCHAR", "associationCategory"),
    Column("label", "VARCHAR", "label"),
)
ASSOCIATION_KEY = ("from_id", "to_id", "type_id")
_MAX_EXACT_INT = 2**53

_STATE_COLUMNS = (
    "source",
    "stream",
    "cursor",
    "cursor_id",
    "status",
    "message",
    "rows_total",
    "api_calls",
    "last_full_sync_at",
    "last_reconciled_at",
    "last_formula_snapshot_at",
    "last_association_snapshot_at",
    "schema_version",
    "extra",
    "updated_at",
)

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS raw_salesforce;
CREATE SCHEMA IF NOT EXISTS raw_hubspot;
CREATE SCHEMA IF NOT EXISTS _meta;
CREATE TABLE IF NOT EXISTS _meta.schema_changes (
    "source" VARCHAR, "table" VARCHAR, "column_name" VARCHAR, "change" VARCHAR,
    "old_type" VARCHAR, "new_type" VARCHAR, "changed_at" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS _meta.stream_state (
    "source" VARCHAR NOT NULL, "stream" VARCHAR NOT NULL, "cursor" TIMESTAMPTZ, "cursor_id" VARCHAR,
    "status" VARCHAR, "message" VARCHAR, "rows_total" BIGINT, "api_calls" BIGINT,
    "last_full_sync_at" TIMESTAMPTZ, "last_reconciled_at" TIMESTAMPTZ, "last_formula_snapshot_at" TIMESTAMPTZ,
    "last_association_snapshot_at" TIMESTAMPTZ, "schema_version" BIGINT, "extra" JSON, "updated_at" TIMESTAMPTZ,
    PRIMARY KEY ("source", "stream")
);
CREATE TABLE IF NOT EXISTS _meta.sync_runs (
    "run_id" VARCHAR, "source" VARCHAR, "stream" VARCHAR, "started_at" TIMESTAMPTZ, "finished_at" TIMESTAMPTZ,
    "status" VARCHAR, "rows_inserted" BIGINT, "rows_updated" BIGINT, "rows_deleted" BIGINT, "api_calls" BIGINT,
    "api_path" VARCHAR, "message" VARCHAR
);
"""


@dataclass(frozen=True)
class SchemaChange:
    """One row of ``_meta.schema_changes``; ``change`` is created, added, removed, restored or retyped."""

    source: str
    table: str
    column_name: str | None
    change: str
    old_type: str | None
    new_type: str | None
    changed_at: datetime


@dataclass(frozen=True)
class MergeCounts:
    """Rows of the de-duplicated batch: inserted + updated + unchanged; ``deleted`` = newly flagged deleted."""

    inserted: int
    updated: int
    unchanged: int
    deleted: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def association_table(from_object: str, to_object: str) -> str:
    """``assoc_<from>__<to>`` (lower-case) for two validated HubSpot object names."""
    f = validate_identifier(from_object, where="hubspot association object").lower()
    t = validate_identifier(to_object, where="hubspot association object").lower()
    return validate_identifier(f"assoc_{f}__{t}", where="hubspot association table")


class _StageError(Exception):
    """Casting the staged batch failed; the transaction is rolled back before the bad row is looked up."""


def _to_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Canonical text for one batch column (see module docstring)."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column], type=column.type)
    return pa.chunked_array([_chunk_to_text(chunk) for chunk in column.chunks], type=pa.string())


def _chunk_to_text(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t):
        return _chunk_to_text(arr.dictionary_decode())
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_null(t) or pa.types.is_string_view(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_floating(t):
        arr = pc.cast(arr, pa.float64())
        integral = pc.and_(
            pc.is_finite(arr),
            pc.and_(pc.equal(pc.floor(arr), arr), pc.less(pc.abs(arr), float(_MAX_EXACT_INT))),
        )
        integral = pc.fill_null(integral, False)
        as_int = pc.cast(pc.cast(pc.if_else(integral, arr, 0.0), pa.int64()), pa.string())
        return pc.if_else(integral, as_int, pc.cast(arr, pa.string()))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        items = pc.cast(arr, pa.list_(pa.string()))
        return pc.binary_join(items, ";")
    if (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
        or pa.types.is_binary(t)
    ):
        return pc.cast(arr, pa.string())
    return pa.array(
        [None if v is None else json.dumps(v, default=str, sort_keys=True) for v in arr.to_pylist()], pa.string()
    )


class RawWarehouse:
    """The working DuckDB file. Single writer; not shared between threads (calls are serialized by a lock).

    ``before_commit`` is a test seam: if set, it is called with the operation name after all writes of a
    transaction and before ``COMMIT``; raising there (or ``os._exit``) simulates a crash before commit.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        schema_policy: str = "evolve",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if schema_policy not in SCHEMA_POLICIES:
            raise ValueError(f"schema_policy {schema_policy!r} not in {SCHEMA_POLICIES}")
        self.path = Path(path)
        self.read_only = read_only
        self.schema_policy = schema_policy
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self.before_commit: Callable[[str], None] | None = None
        # A WAL that cannot be replayed is moved aside (never deleted) before a writer opens the file.
        self.recovered: Quarantine | None = None if read_only else recover_working_file(self.path)
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(str(self.path), read_only=read_only)
        self._exec("SET TimeZone = 'UTC'")
        if not read_only:
            with self._transaction("bootstrap"):
                for statement in _BOOTSTRAP.split(";"):
                    if statement.strip():
                        self._exec(statement)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> RawWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise LoadError(f"warehouse {self.path} is closed")
        return self._con

    def _exec(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        # DuckDB 2.0: a result must be fetched to the end before the next statement on the connection.
        return self.con.execute(sql, params).fetchall() if params is not None else self.con.execute(sql).fetchall()

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def _writable(self) -> None:
        if self.read_only:
            raise LoadError(f"warehouse {self.path} was opened read_only")

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[None]:
        self._exec("BEGIN TRANSACTION")
        try:
            yield
            if self.before_commit is not None:
                self.before_commit(operation)
            self._exec("COMMIT")
        except BaseException:
            with suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                self.con.execute("ROLLBACK")
            raise

    @staticmethod
    def _schema(source: str) -> str:
        return "raw_" + validate_identifier(source, where="source").lower()

    @staticmethod
    def _table(table: str) -> str:
        return validate_identifier(table, where="table").lower()

    def _qualified(self, source: str, table: str) -> tuple[str, str, str]:
        schema, name = self._schema(source), self._table(table)
        return schema, name, f"{quote_ident(schema)}.{quote_ident(name)}"

    def _table_columns(self, schema: str, table: str) -> dict[str, tuple[str, str]]:
        """lower-case name -> (name, normalized type), in table order; empty if the table does not exist."""
        rows = self._exec(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table],
        )
        return {name.lower(): (name, normalize_type(dtype)) for name, dtype in rows}

    # ------------------------------------------------------------------ schema

    def ensure_table(
        self,
        source: str,
        table: str,
        columns: list[Column],
        primary_key: str | Sequence[str],
        *,
        policy: str | None = None,
    ) -> list[SchemaChange]:
        """Create the table or evolve it to ``columns``; returns the changes (``added`` ones need a backfill).

        A new table returns one ``created`` change (``column_name`` None). Re-running with the same columns
        returns ``[]``: ``removed`` and ``retyped`` are recorded once, not on every run.
        """
        self._writable()
        with self._lock, self._transaction("ensure_table"):
            return self._ensure(source, table, columns, primary_key, policy)

    def _ensure(
        self,
        source: str,
        table: str,
        columns: Sequence[Column],
        primary_key: str | Sequence[str],
        policy: str | None,
    ) -> list[SchemaChange]:
        policy = policy or self.schema_policy
        if policy not in SCHEMA_POLICIES:
            raise ValueError(f"schema policy {policy!r} not in {SCHEMA_POLICIES}")
        schema, name, qualified = self._qualified(source, table)
        where = f"{source} {name} column"
        for col in columns:
            validate_identifier(col.name, where=where)
        check_collisions([c.name for c in columns], where=where)
        wanted = {c.name.lower(): c for c in columns}
        pk = self._pk_tuple(primary_key, where)
        missing_pk = [k for k in pk if k.lower() not in wanted]
        if missing_pk:
            raise LoadError(
                f"{schema}.{name}: primary key {missing_pk} not among the columns", table=f"{schema}.{name}"
            )
        now = self._now()
        existing = self._table_columns(schema, name)
        if not existing:
            ddl = ", ".join(f"{quote_ident(c.name)} {normalize_type(c.duck_type)}" for c in columns)
            pk_sql = ", ".join(quote_ident(wanted[k.lower()].name) for k in pk)
            self._exec(
                f"CREATE TABLE {qualified} ({ddl}, _loaded_at TIMESTAMPTZ, _is_deleted BOOLEAN, "
                f"_deleted_at TIMESTAMPTZ, PRIMARY KEY ({pk_sql}))"
            )
            created = SchemaChange(source, name, None, "created", None, f"{len(columns)} columns", now)
            self._record_changes([created])
            return [created]

        last = {
            col.lower(): (change, new_type)
            for col, change, new_type in self._exec(
                'SELECT column_name, change, new_type FROM _meta.schema_changes WHERE source = ? AND "table" = ? '
                "AND column_name IS NOT NULL QUALIFY row_number() OVER "
                "(PARTITION BY lower(column_name) ORDER BY changed_at DESC, rowid DESC) = 1",
                [source, name],
            )
        }
        changes: list[SchemaChange] = []
        for key, col in wanted.items():
            new_type = normalize_type(col.duck_type)
            if key not in existing:
                changes.append(SchemaChange(source, name, col.name, "added", None, new_type, now))
                continue
            old_name, old_type = existing[key]
            if last.get(key, ("",))[0] == "removed":
                changes.append(SchemaChange(source, name, old_name, "restored", old_type, new_type, now))
            if old_type != new_type and last.get(key) != ("retyped", new_type):
                changes.append(SchemaChange(source, name, old_name, "retyped", old_type, new_type, now))
        for key, (old_name, old_type) in existing.items():
            if key in wanted or key in META_COLUMNS:
                continue
            if last.get(key, ("",))[0] != "removed":
                changes.append(SchemaChange(source, name, old_name, "removed", old_type, None, now))
        if changes and policy == "fail":
            listed = ", ".join(f"{c.change} {c.column_name} ({c.old_type} -> {c.new_type})" for c in changes)
            raise SchemaDriftError(
                f"{schema}.{name}: schema drift under policy 'fail': {listed}", table=f"{schema}.{name}"
            )
        for change in changes:
            if change.change == "added":
                self._exec(f"ALTER TABLE {qualified} ADD COLUMN {quote_ident(change.column_name)} {change.new_type}")
        self._record_changes(changes)
        return changes

    def _record_changes(self, changes: list[SchemaChange]) -> None:
        for c in changes:
            self._exec(
                "INSERT INTO _meta.schema_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                [c.source, c.table, c.column_name, c.change, c.old_type, c.new_type, c.changed_at],
            )

    def schema_changes(self, source: str | None = None, table: str | None = None) -> list[SchemaChange]:
        """Recorded schema changes, oldest first."""
        with self._lock:
            rows = self._exec(
                'SELECT source, "table", column_name, change, old_type, new_type, changed_at FROM _meta.schema_changes '
                'WHERE (? IS NULL OR source = ?) AND (? IS NULL OR "table" = ?) ORDER BY changed_at, rowid',
                [source, source, table, table],
            )
        return [SchemaChange(*row) for row in rows]

    @staticmethod
    def _pk_tuple(primary_key: str | Sequence[str], where: str) -> tuple[str, ...]:
        pk = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
        if not pk:
            raise ValueError("empty primary key")
        for k in pk:
            validate_identifier(k, where=where)
        return pk

    # ------------------------------------------------------------------ merge

    def merge(
        self,
        source: str,
        table: str,
        batch: pa.Table,
        *,
        primary_key: str | Sequence[str],
        cursor_column: str | None = None,
        deleted_column: str | None = None,
        deleted_at_column: str | None = None,
        state: StreamState | None = None,
        columns: list[Column] | None = None,
    ) -> MergeCounts:
        """Upsert ``batch`` on the primary key in one transaction (see module docstring).

        ``columns`` (optional): run :meth:`ensure_table` with them inside the same transaction first.
        ``primary_key`` may be a tuple of columns (association tables).
        """
        return self._merge(
            source,
            table,
            batch,
            primary_key=primary_key,
            cursor_column=cursor_column,
            deleted_column=deleted_column,
            deleted_at_column=deleted_at_column,
            state=state,
            columns=columns,
        )

    def _merge(
        self,
        source: str,
        table: str,
        batch: pa.Table,
        *,
        primary_key: str | Sequence[str],
        cursor_column: str | None,
        deleted_column: str | None,
        deleted_at_column: str | None,
        state: StreamState | None,
        columns: Sequence[Column] | None,
        alive: bool = False,
        snapshot_from_ids: pa.Array | None = None,
    ) -> MergeCounts:
        self._writable()
        schema, name, qualified = self._qualified(source, table)
        full = f"{schema}.{name}"
        where = f"{source} {name} batch column"
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        for col in batch.column_names:
            validate_identifier(col, where=where)
        check_collisions(batch.column_names, where=where)
        pk = self._pk_tuple(primary_key, where)
        if state is not None:
            state.validate()

        with self._lock:  # people erased by `acctwh erase` are not landed again (one cheap query otherwise)
            batch = drop_suppressed(self.con, source, name, batch)
        staged = pa.table(
            {col: _to_text(batch.column(col)) for col in batch.column_names}
            | {"__ord": pa.array(range(batch.num_rows), pa.int64())}
        )
        token = uuid.uuid4().hex
        raw, stg = f"__aw_raw_{token}", f"__aw_stg_{token}"
        now = self._now()
        with self._lock:
            self.con.register(raw, staged)
            try:
                try:
                    with self._transaction("merge"):
                        if columns is not None:
                            self._ensure(source, name, columns, pk, None)
                        table_cols = self._table_columns(schema, name)
                        if not table_cols:
                            raise LoadError(f"{full} does not exist; call ensure_table first", table=full)
                        unknown = [c for c in batch.column_names if c.lower() not in table_cols]
                        if unknown:
                            raise LoadError(f"{full}: batch columns not in the table: {unknown}", table=full)
                        cols = [
                            Column(table_cols[c.lower()][0], table_cols[c.lower()][1], c) for c in batch.column_names
                        ]
                        by_key = {c.source_type.lower(): c for c in cols}

                        def column(api_name: str | None, role: str) -> Column | None:
                            if api_name is None:
                                return None
                            if api_name.lower() not in by_key:
                                raise LoadError(f"{full}: {role} {api_name!r} is not in the batch", table=full)
                            return by_key[api_name.lower()]

                        pk_cols = [column(k, "primary key column") for k in pk]
                        cur = column(cursor_column, "cursor_column")
                        dele = column(deleted_column, "deleted_column")
                        dele_at = column(deleted_at_column, "deleted_at_column")
                        counts = self._merge_sql(
                            qualified, full, raw, stg, cols, pk_cols, cur, dele, dele_at, alive, now
                        )
                        if snapshot_from_ids is not None:
                            flagged = self._flag_missing_associations(qualified, stg, snapshot_from_ids, now)
                            counts = MergeCounts(
                                counts.inserted, counts.updated, counts.unchanged, counts.deleted + flagged
                            )
                        self._exec(f"DROP TABLE {quote_ident(stg)}")
                        if state is not None:
                            self._put_state(state, now)
                except _StageError as err:
                    raise self._diagnose(full, raw, cols, pk_cols, err.__cause__) from err.__cause__
            finally:
                self.con.unregister(raw)
        return counts

    def _merge_sql(
        self,
        qualified: str,
        full: str,
        raw: str,
        stg: str,
        cols: list[Column],
        pk_cols: list[Column],
        cur: Column | None,
        dele: Column | None,
        dele_at: Column | None,
        alive: bool,
        now: datetime,
    ) -> MergeCounts:
        q = quote_ident
        casts = ", ".join(f"{cast_sql(c, q(c.source_type))} AS {q(c.name)}" for c in cols)
        partition = ", ".join(q(c.name) for c in pk_cols)
        order = (f"{q(cur.name)} DESC NULLS LAST, " if cur is not None else "") + '"__ord" DESC'
        if dele is not None:
            del_flag = f"coalesce({q(dele.name)}, false)"
            stamps = [q(c.name) for c in (dele_at, cur) if c is not None and c.duck_type == "TIMESTAMPTZ"]
            del_at = f"coalesce({', '.join(stamps)})" if stamps else "CAST(NULL AS TIMESTAMPTZ)"
        else:
            del_flag = "false" if alive else "CAST(NULL AS BOOLEAN)"
            del_at = "CAST(NULL AS TIMESTAMPTZ)"
        try:
            self._exec(
                f"CREATE TEMP TABLE {q(stg)} AS SELECT *, {del_flag} AS __del, {del_at} AS __del_at FROM "
                f'(SELECT {casts}, "__ord" FROM {q(raw)}) '
                f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {order}) = 1"
            )
        except duckdb.Error as exc:
            raise _StageError(str(exc)) from exc

        null_pk = self._exec(
            f'SELECT "__ord" FROM {q(stg)} WHERE ' + " OR ".join(f"{q(c.name)} IS NULL" for c in pk_cols) + " LIMIT 1"
        )
        if null_pk:
            raise LoadError(
                f"{full}: record at batch position {null_pk[0][0]} has a null primary key "
                f"({', '.join(c.name for c in pk_cols)})",
                table=full,
                column=pk_cols[0].name,
            )

        on = " AND ".join(f"t.{q(c.name)} = s.{q(c.name)}" for c in pk_cols)
        total, inserted, deleted = self._exec(
            f"SELECT count(*), count(*) FILTER (WHERE t.{q(pk_cols[0].name)} IS NULL), "
            f"count(*) FILTER (WHERE s.__del AND coalesce(t._is_deleted, false) = false) "
            f"FROM {q(stg)} s LEFT JOIN {qualified} t ON {on}"
        )[0]

        pk_names = {c.name for c in pk_cols}
        data = [c for c in cols if c.name not in pk_names]
        new_is_del = "coalesce(s.__del, t._is_deleted, false)"
        new_del_at = (
            "CASE WHEN s.__del IS NULL THEN t._deleted_at WHEN s.__del THEN "
            "coalesce(s.__del_at, CASE WHEN t._is_deleted THEN t._deleted_at END, $1) END"
        )
        changed = " OR ".join(
            [f"t.{q(c.name)} IS DISTINCT FROM s.{q(c.name)}" for c in data]
            + [f"t._is_deleted IS DISTINCT FROM {new_is_del}", f"t._deleted_at IS DISTINCT FROM {new_del_at}"]
        )
        sets = ", ".join(
            [f"{q(c.name)} = s.{q(c.name)}" for c in data]
            + ["_loaded_at = $1", f"_is_deleted = {new_is_del}", f"_deleted_at = {new_del_at}"]
        )
        insert_cols = ", ".join([q(c.name) for c in cols] + ["_loaded_at", "_is_deleted", "_deleted_at"])
        insert_vals = ", ".join(
            [f"s.{q(c.name)}" for c in cols]
            + ["$1", "coalesce(s.__del, false)", "CASE WHEN s.__del THEN coalesce(s.__del_at, $1) END"]
        )
        affected = self._exec(
            f"MERGE INTO {qualified} AS t USING {q(stg)} AS s ON ({on}) "
            f"WHEN MATCHED AND ({changed}) THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({insert_cols}) VALUES ({insert_vals})",
            [now],
        )
        affected_n = int(affected[0][0]) if affected else 0
        updated = affected_n - int(inserted)
        return MergeCounts(int(inserted), updated, int(total) - affected_n, int(deleted))

    def _diagnose(
        self, full: str, raw: str, cols: list[Column], pk_cols: list[Column], cause: BaseException | None
    ) -> LoadError:
        """After a failed cast (transaction already rolled back): find the first bad value with TRY_CAST."""
        q = quote_ident
        pk_expr = " || '|' || ".join(f"coalesce(CAST({q(c.source_type)} AS VARCHAR), '')" for c in pk_cols)
        detail = str(cause).splitlines()[0] if cause is not None else "conversion failed"
        for col in cols:
            src = q(col.source_type)
            rows = self._exec(
                f"SELECT {pk_expr}, {src} FROM {q(raw)} WHERE NULLIF({src}, '') IS NOT NULL "
                f'AND ({try_cast_sql(col, src)}) IS NULL ORDER BY "__ord" LIMIT 1'
            )
            if rows:
                pk_value, value = rows[0]
                return LoadError(
                    f"{full}: record {'/'.join(c.name for c in pk_cols)}={pk_value!r}: column {col.name!r} "
                    f"({col.duck_type}) cannot take value {value!r} ({detail}); batch rolled back",
                    table=full,
                    primary_key_value=pk_value,
                    column=col.name,
                    value=value,
                )
        return LoadError(f"{full}: batch could not be cast ({detail}); batch rolled back", table=full)

    # ------------------------------------------------------------------ deletes

    def flag_missing_as_deleted(
        self,
        source: str,
        table: str,
        primary_key: str,
        present_ids: pa.Array | pa.ChunkedArray | Sequence[str],
        deleted_at: datetime,
        state: StreamState | None = None,
        *,
        only_loaded_before: datetime | None = None,
        allow_empty: bool = False,
    ) -> int:
        """Reconciliation: rows whose pk is not in ``present_ids`` and not yet deleted are flagged deleted.

        ``only_loaded_before``: skip rows loaded (``_loaded_at``) at or after it, e.g. the start of the Id
        snapshot, so records created while the snapshot ran are not flagged. An empty ``present_ids`` is refused
        unless ``allow_empty`` (an empty Id list is far more often a failed query than a wiped object).
        """
        self._writable()
        schema, name, qualified = self._qualified(source, table)
        full = f"{schema}.{name}"
        validate_identifier(primary_key, where=f"{source} {name} primary key")
        if state is not None:
            state.validate()
        ids = present_ids if isinstance(present_ids, pa.Array | pa.ChunkedArray) else pa.array(present_ids)
        ids_table = pa.table({"id": _to_text(ids)})
        if ids_table.num_rows == 0 and not allow_empty:
            raise LoadError(f"{full}: reconciliation with an empty id list refused (allow_empty=False)", table=full)
        token = uuid.uuid4().hex
        present = f"__aw_ids_{token}"
        now = self._now()
        with self._lock:
            self.con.register(present, ids_table)
            try:
                with self._transaction("flag_missing_as_deleted"):
                    table_cols = self._table_columns(schema, name)
                    if primary_key.lower() not in table_cols:
                        raise LoadError(f"{full}: no column {primary_key!r}", table=full)
                    pk = quote_ident(table_cols[primary_key.lower()][0])
                    guard = "AND _loaded_at < $3 " if only_loaded_before is not None else ""
                    params: list[Any] = [deleted_at, now] + ([only_loaded_before] if only_loaded_before else [])
                    rows = self._exec(
                        f"UPDATE {qualified} AS t SET _is_deleted = true, _deleted_at = $1, _loaded_at = $2 "
                        f"WHERE coalesce(t._is_deleted, false) = false {guard}"
                        f"AND NOT EXISTS (SELECT 1 FROM {quote_ident(present)} p "
                        f"WHERE p.id = CAST(t.{pk} AS VARCHAR))",
                        params,
                    )
                    if state is not None:
                        self._put_state(state, now)
            finally:
                self.con.unregister(present)
        return int(rows[0][0]) if rows else 0

    def flag_deleted(self, source: str, table: str, primary_key: str, ids: Sequence[str],
                     deleted_at: Sequence[datetime]) -> int:
        """Flag the live rows whose pk is in ``ids`` deleted at the matching ``deleted_at`` (e.g. HubSpot merge
        losers); their other columns stay as they are. Returns the number of rows flagged."""
        self._writable()
        _, name, qualified = self._qualified(source, table)
        validate_identifier(primary_key, where=f"{source} {name} primary key")
        if not ids:
            return 0
        with self._lock, self._transaction("flag_deleted"):
            rows = self._exec(
                f"UPDATE {qualified} AS t SET _is_deleted = true, _deleted_at = d.ts, _loaded_at = $1 FROM "
                "(SELECT unnest($2::VARCHAR[]) AS id, unnest($3::TIMESTAMPTZ[]) AS ts) d "
                f"WHERE coalesce(t._is_deleted, false) = false AND CAST(t.{quote_ident(primary_key)} AS VARCHAR) "
                "= d.id",
                [self._now(), list(ids), list(deleted_at)],
            )
        return int(rows[0][0]) if rows else 0

    # ------------------------------------------------------------------ associations

    def ensure_association_table(self, from_object: str, to_object: str) -> str:
        """Create ``raw_hubspot.assoc_<from>__<to>`` if needed; returns the table name."""
        name = association_table(from_object, to_object)
        self.ensure_table("hubspot", name, list(ASSOCIATION_COLUMNS), ASSOCIATION_KEY)
        return name

    def merge_associations(
        self,
        from_object: str,
        to_object: str,
        batch: pa.Table,
        *,
        snapshot_from_ids: pa.Array | Sequence[str] | None = None,
        state: StreamState | None = None,
    ) -> MergeCounts:
        """Merge HubSpot v4 association rows (``from_id, to_id, type_id[, category, label]``) on the composite key.

        Rows in the batch are live (a previously deleted association that reappears is undeleted).
        ``snapshot_from_ids``: the batch holds the complete association set of these from-ids, so their existing
        associations that are not in the batch are flagged deleted (counted in ``MergeCounts.deleted``).
        """
        name = association_table(from_object, to_object)
        if snapshot_from_ids is not None and not isinstance(snapshot_from_ids, pa.Array | pa.ChunkedArray):
            snapshot_from_ids = pa.array(list(snapshot_from_ids), pa.string())
        return self._merge(
            "hubspot",
            name,
            batch,
            primary_key=ASSOCIATION_KEY,
            cursor_column=None,
            deleted_column=None,
            deleted_at_column=None,
            state=state,
            columns=list(ASSOCIATION_COLUMNS),
            alive=True,
            snapshot_from_ids=snapshot_from_ids,
        )

    def _flag_missing_associations(
        self, qualified: str, stg: str, from_ids: pa.Array | pa.ChunkedArray, now: datetime
    ) -> int:
        ids = f"__aw_from_{uuid.uuid4().hex}"
        self.con.register(ids, pa.table({"id": _to_text(from_ids)}))
        try:
            rows = self._exec(
                f"UPDATE {qualified} AS t SET _is_deleted = true, _deleted_at = $1, _loaded_at = $1 "
                f"WHERE coalesce(t._is_deleted, false) = false "
                f"AND t.from_id IN (SELECT id FROM {quote_ident(ids)} WHERE id IS NOT NULL) "
                f"AND NOT EXISTS (SELECT 1 FROM {quote_ident(stg)} s WHERE s.from_id = t.from_id "
                f"AND s.to_id = t.to_id AND s.type_id = t.type_id)",
                [now],
            )
        finally:
            self.con.unregister(ids)
        return int(rows[0][0]) if rows else 0

    # ------------------------------------------------------------------ state and runs

    def get_state(self, source: str, stream: str) -> StreamState:
        """The stored state of a stream, or a fresh one (status ``never``)."""
        cols = ", ".join(quote_ident(c) for c in _STATE_COLUMNS)
        with self._lock:
            rows = self._exec(
                f"SELECT {cols} FROM _meta.stream_state WHERE source = ? AND stream = ?", [source, stream]
            )
        if not rows:
            return StreamState(source=source, stream=stream)
        values = dict(zip(_STATE_COLUMNS, rows[0], strict=True))
        values["extra"] = json.loads(values["extra"]) if values["extra"] else {}
        values["rows_total"] = values["rows_total"] or 0
        values["api_calls"] = values["api_calls"] or 0
        values["schema_version"] = values["schema_version"] or 0
        return StreamState(**values)

    def put_state(self, state: StreamState) -> None:
        """Upsert a stream's state in its own transaction (merges take ``state=`` to do it in theirs)."""
        self._writable()
        state.validate()
        with self._lock, self._transaction("put_state"):
            self._put_state(state, self._now())

    def _put_state(self, state: StreamState, now: datetime) -> None:
        state.validate()
        values = [getattr(state, c) for c in _STATE_COLUMNS]
        values[_STATE_COLUMNS.index("extra")] = json.dumps(state.extra or {}, sort_keys=True)
        values[_STATE_COLUMNS.index("updated_at")] = now
        cols = ", ".join(quote_ident(c) for c in _STATE_COLUMNS)
        marks = ", ".join("CAST(? AS JSON)" if c == "extra" else "?" for c in _STATE_COLUMNS)
        self._exec(f"INSERT OR REPLACE INTO _meta.stream_state ({cols}) VALUES ({marks})", values)

    def record_run(
        self,
        run_id: str,
        source: str,
        stream: str,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        status: str = "success",
        rows_inserted: int = 0,
        rows_updated: int = 0,
        rows_deleted: int = 0,
        api_calls: int = 0,
        api_path: str | None = None,
        message: str | None = None,
    ) -> None:
        """Append one row to ``_meta.sync_runs`` (``finished_at`` defaults to now)."""
        self._writable()
        finished = finished_at or self._now()
        with self._lock, self._transaction("record_run"):
            self._exec(
                "INSERT INTO _meta.sync_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    source,
                    stream,
                    started_at or finished,
                    finished,
                    status,
                    rows_inserted,
                    rows_updated,
                    rows_deleted,
                    api_calls,
                    api_path,
                    message,
                ],
            )

    # ------------------------------------------------------------------ reading

    def table_rows(self, source: str, table: str) -> int:
        """Row count of a raw table (deleted rows included)."""
        _, _, qualified = self._qualified(source, table)
        with self._lock:
            return int(self._exec(f"SELECT count(*) FROM {qualified}")[0][0])

    def table_exists(self, source: str, table: str) -> bool:
        schema, name, _ = self._qualified(source, table)
        with self._lock:
            return bool(self._table_columns(schema, name))

    def fetch_arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run a query (tests, checks) and return the whole result as an Arrow table."""
        with self._lock:
            return self.con.sql(sql, params=params).to_arrow_table()

    def checkpoint(self) -> None:
        with self._lock:
            self._exec("CHECKPOINT")


__all__ += ["HostileIdentifierError", "LoadError", "SchemaDriftError"]
