"""Erasure of one person (GDPR Art. 17, APPI): ``acctwh erase --email ADDRESS``.

What is removed, in this order:

1. **Serving** (``<home>/serving/versions/*``): in every kept version, rows of any table whose text columns carry the
   address or the person's HMAC key. A version with such rows gets a brand-new DuckDB file and new Parquet files
   (rows copied without them, never ``DELETE`` in place), swapped in by rename; ``marts.duckdb`` is re-linked if
   that version is served. A version without such rows is left byte-identical (open readers are not disturbed).
2. **Working file** (``<home>/working.duckdb``), one transaction:
   * raw (``raw_salesforce``, ``raw_hubspot``): every row with the address in any text column (Contact, Lead,
     HubSpot contacts, engagements with to/from addresses, free text...), then the rows *about* those records:
     Salesforce activities and roles pointing at their Ids (``PERSON_TABLES``) and HubSpot contact associations;
   * models (staging views need nothing; intermediate, marts, stored test failures, seeds): rows with the
     address or the person key;
   * ``_meta``: run messages that quote the address.
   Then the whole file is copied (``COPY FROM DATABASE``) into a fresh file that replaces it: DuckDB keeps
   deleted rows in free blocks, so without the copy the bytes of the erased rows would stay on disk.
3. **Records**: ``_meta.erased_people`` (the suppression list: the HMAC key and the erased source record Ids) and
   ``_meta.erasures`` (the audit: HMAC key, time, rows per table, serving versions rewritten). The address itself
   is never stored, printed or logged. :func:`drop_suppressed` is the hook :class:`raw.RawWarehouse` calls on
   every batch, so the next ingest does not bring the person back from the CRM.

Pointers to the person in other records (e.g. ``Opportunity.ContactId``) are left: they carry no personal data
once the person's own records are gone, and removing the records holding them would change revenue.
Run it while no pipeline run is writing the working file (DuckDB's lock makes a clash fail, not corrupt).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.warehouse.columns import quote_ident
from connectors.warehouse.person_key import normalise_email, person_key, secret_from_env

__all__ = ["ErasureError", "ErasureResult", "drop_suppressed", "erase_person"]

SUPPRESSION_TABLE = "_meta.erased_people"
AUDIT_TABLE = "_meta.erasures"
RAW_SCHEMAS = ("raw_salesforce", "raw_hubspot")
# Salesforce objects whose rows are *about* a contact/lead: deleted (and kept out) when they point at an erased Id.
PERSON_TABLES = frozenset({"contact", "lead", "task", "event", "opportunitycontactrole", "campaignmember",
                           "accountcontactrelation", "emailmessagerelation"})
EMAIL_TOKEN = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NOT_TEXT = ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE",
             "INTERVAL", "BLOB", "UUID")
_BOOTSTRAP = (
    "CREATE SCHEMA IF NOT EXISTS _meta",
    f"CREATE TABLE IF NOT EXISTS {SUPPRESSION_TABLE} (person_key VARCHAR NOT NULL, source VARCHAR, "
    "record_id VARCHAR, erased_at TIMESTAMPTZ)",
    f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (person_key VARCHAR NOT NULL, erased_at TIMESTAMPTZ, "
    "rows_deleted JSON, serving_rows_deleted JSON, working_rewritten BOOLEAN)",
)


class ErasureError(Exception):
    """The erasure could not be done (never names the address)."""


@dataclass
class ErasureResult:
    person_key: str
    erased_at: datetime
    rows_deleted: dict[str, int] = field(default_factory=dict)  # schema.table -> rows, working file
    serving_rows_deleted: dict[str, int] = field(default_factory=dict)  # version -> rows, all its tables
    suppressed_records: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows_deleted.values()) + sum(self.serving_rows_deleted.values())


# ---------------------------------------------------------------------------------------------- matching


def _email_pattern(email: str) -> str:
    # A whole address, not a substring of a longer one (ann@x.com must not match joann@x.com or ann@x.com.au).
    return r"(^|[^a-z0-9._%+'-])" + re.escape(email) + r"($|[^a-z0-9_-]|\.($|[^a-z0-9]))"


def _text_columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index", [catalog, schema, table]).fetchall()
    return [name for name, dtype in rows if _is_text(str(dtype))]


def _is_text(dtype: str) -> bool:
    """Types that can hold an address (VARCHAR, JSON, lists, structs, maps); numbers and times cannot."""
    return dtype.upper() not in _NOT_TEXT and not dtype.upper().startswith("DECIMAL")


def _person_predicate(columns: Sequence[str], *, with_key: bool) -> str:
    """SQL true for a row carrying the address ($pattern) or, with ``with_key``, the HMAC key ($key)."""
    parts = []
    for col in columns:
        text = f"CAST({quote_ident(col)} AS VARCHAR)"
        parts.append(f"regexp_matches(lower({text}), $pattern)")
        if with_key:
            parts.append(f"{text} = $key")
    return "coalesce(" + " OR ".join(parts) + ", false)" if parts else "false"


def _base_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return [(s, t) for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary "
        "ORDER BY schema_name, table_name", [catalog]).fetchall()]


# ---------------------------------------------------------------------------------------------- erase


def erase_person(home: str | os.PathLike[str], email: str, *, secret: bytes | None = None,
                 clock: Callable[[], datetime] | None = None) -> ErasureResult:
    """Erase everyone's copy of ``email`` under ``home`` (see module docstring); returns what was removed."""
    address = normalise_email(email)
    if address is None or not _SHAPE.fullmatch(address):
        raise ErasureError("--email does not look like an email address")
    key = person_key(address, secret if secret is not None else secret_from_env())
    assert key is not None
    home = Path(home)
    working = home / "working.duckdb"
    if not working.is_file():
        raise ErasureError(f"no working warehouse at {working}")
    result = ErasureResult(person_key=key, erased_at=(clock or (lambda: datetime.now(UTC)))())
    params = {"pattern": _email_pattern(address), "key": key}
    try:
        con = duckdb.connect(str(working))
    except duckdb.IOException as exc:
        raise ErasureError(f"cannot open {working} for writing (is a pipeline run using it?): "
                           f"{str(exc).splitlines()[0]}") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        catalog = con.execute("SELECT current_database()").fetchone()[0]
        # Serving first: if it fails, the working file (and the suppression list) are untouched and a re-run
        # starts over; the reverse order could leave erased rows in a served file with no record to find them.
        result.serving_rows_deleted = erase_serving(home, address, key)
        con.execute("BEGIN TRANSACTION")
        for statement in _BOOTSTRAP:
            con.execute(statement)
        sf_ids, hs_ids = _erase_raw(con, catalog, params, result)
        _erase_models(con, catalog, params, result)
        records = [(key, None, None)] + [(key, "salesforce", i) for i in sorted(sf_ids)] \
            + [(key, "hubspot", i) for i in sorted(hs_ids)]
        con.executemany(f"INSERT INTO {SUPPRESSION_TABLE} VALUES (?, ?, ?, ?)",
                        [[*r, result.erased_at] for r in records])
        result.suppressed_records = len(records) - 1
        con.execute(f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, true)",
                    [key, result.erased_at, json.dumps(result.rows_deleted, sort_keys=True),
                     json.dumps(result.serving_rows_deleted, sort_keys=True)])
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    rewrite_database(working)
    return result


def _delete(con: duckdb.DuckDBPyConnection, schema: str, table: str, where: str, params: dict[str, Any],
            result: ErasureResult) -> None:
    qualified = f"{quote_ident(schema)}.{quote_ident(table)}"
    used = {k: v for k, v in params.items() if f"${k}" in where}
    deleted = int(con.execute(f"DELETE FROM {qualified} WHERE {where}", used).fetchone()[0])
    if deleted:
        name = f"{schema}.{table}"
        result.rows_deleted[name] = result.rows_deleted.get(name, 0) + deleted


def _erase_raw(con: duckdb.DuckDBPyConnection, catalog: str, params: dict[str, Any],
               result: ErasureResult) -> tuple[set[str], set[str]]:
    """Rows carrying the address, then the rows about those records; returns the erased SF and HubSpot Ids."""
    tables = [(s, t) for s, t in _base_tables(con, catalog) if s in RAW_SCHEMAS]
    sf_ids: set[str] = set()
    hs_ids: set[str] = set()
    for schema, table in tables:
        cols = _text_columns(con, catalog, schema, table)
        where = _person_predicate(cols, with_key=False)
        pk = {c.lower(): c for c in cols}.get("id")
        if pk is not None and (schema == "raw_salesforce" or table == "contacts"):
            found = con.execute(f"SELECT CAST({quote_ident(pk)} AS VARCHAR) FROM {quote_ident(schema)}."
                                f"{quote_ident(table)} WHERE {where}", {"pattern": params["pattern"]}).fetchall()
            (sf_ids if schema == "raw_salesforce" else hs_ids).update(i for (i,) in found if i)
        _delete(con, schema, table, where, params, result)
    linked = {**params, "sf_ids": sorted(sf_ids), "hs_ids": sorted(hs_ids)}
    for schema, table in tables:
        cols = _text_columns(con, catalog, schema, table)
        if schema == "raw_salesforce" and table in PERSON_TABLES and sf_ids:
            where = " OR ".join(f"list_contains($sf_ids, CAST({quote_ident(c)} AS VARCHAR))" for c in cols)
            _delete(con, schema, table, f"coalesce({where}, false)", linked, result)
        elif schema == "raw_hubspot" and hs_ids:
            side = _hubspot_contact_side(table)
            if side is not None:
                _delete(con, schema, table, f"list_contains($hs_ids, CAST({side} AS VARCHAR))", linked, result)
    return sf_ids, hs_ids


def _hubspot_contact_side(table: str) -> str | None:
    """The column of a raw HubSpot table that holds a contact id (None: it holds none)."""
    if table == "contacts":
        return "id"
    if table.startswith("assoc_contacts__"):
        return "from_id"
    if table.startswith("assoc_") and table.endswith("__contacts"):
        return "to_id"
    return None


def _erase_models(con: duckdb.DuckDBPyConnection, catalog: str, params: dict[str, Any],
                  result: ErasureResult) -> None:
    """Every non-raw table (dbt models, stored test failures, seeds) and the run messages in ``_meta``."""
    for schema, table in _base_tables(con, catalog):
        if schema in RAW_SCHEMAS or f"{schema}.{table}" in (SUPPRESSION_TABLE, AUDIT_TABLE):
            continue
        cols = _text_columns(con, catalog, schema, table)
        if schema == "_meta" and table == "stream_state":  # keep the cursors; only a message may quote the address
            where = _person_predicate(["message"], with_key=False)
            con.execute(f"UPDATE _meta.stream_state SET message = NULL WHERE {where}", {"pattern": params["pattern"]})
            continue
        _delete(con, schema, table, _person_predicate(cols, with_key=schema != "_meta"), params, result)


def rewrite_database(path: Path) -> None:
    """Copy ``path`` into a fresh file and swap it in, so no freed block keeps deleted rows' bytes."""
    tmp = path.with_name(f".erase-{path.name}")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    alias = path.stem  # views keep resolving: the copy is attached under the catalog name the file will have
    with duckdb.connect() as con:
        con.execute(f"ATTACH {_literal(str(path))} AS {quote_ident(alias)} (READ_ONLY)")
        con.execute(f"ATTACH {_literal(str(tmp))} AS __erase_fresh")
        con.execute(f"COPY FROM DATABASE {quote_ident(alias)} TO __erase_fresh")
        con.execute("DETACH __erase_fresh")
        con.execute(f"DETACH {quote_ident(alias)}")
    shutil.copymode(path, tmp)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(path.parent)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- serving


def erase_serving(home: str | os.PathLike[str], address: str, key: str) -> dict[str, int]:
    """Rewrite every kept version that holds the person; returns version -> rows removed (0: left untouched)."""
    from connectors.warehouse.versions import ServingLayout, clean_stray, list_versions, serving_lock

    layout = ServingLayout.for_home(home)
    if not layout.versions.is_dir():
        return {}
    params = {"pattern": _email_pattern(address), "key": key}
    out: dict[str, int] = {}
    with serving_lock(layout):
        clean_stray(layout)
        for info in list_versions(home):
            out[info.version] = _erase_version(layout, info, params)
    return out


def _erase_version(layout: Any, info: Any, params: dict[str, Any]) -> int:
    vdir: Path = info.path
    parquet_files = sorted(info.parquet_dir.glob("*.parquet")) if info.parquet_dir.is_dir() else []
    with duckdb.connect() as con:  # a private instance: never the cached one BI code may hold
        con.execute(f"ATTACH {_literal(str(info.db_path))} AS old (READ_ONLY)")
        tables = [t for s, t in _base_tables(con, "old") if s == "main"]
        where = {t: _person_predicate(_text_columns(con, "old", "main", t), with_key=True) for t in tables}
        hits = {t: int(con.execute(f"SELECT count(*) FROM old.main.{quote_ident(t)} WHERE {where[t]}", params)
                       .fetchone()[0]) for t in tables if t != "_publication"}
        parquet_hits = 0
        for path in parquet_files:
            con.execute(f"CREATE OR REPLACE TEMP VIEW __pq AS SELECT * FROM read_parquet({_literal(str(path))})")
            cols = [r[0] for r in con.execute("DESCRIBE __pq").fetchall() if _is_text(str(r[1]))]
            parquet_hits += int(con.execute(f"SELECT count(*) FROM __pq WHERE "
                                            f"{_person_predicate(cols, with_key=True)}", params).fetchone()[0])
        if not sum(hits.values()) and not parquet_hits:
            return 0
        new_db = vdir / f".erase-{info.db_path.name}"
        new_pq = vdir / ".erase-parquet"
        new_db.unlink(missing_ok=True)
        shutil.rmtree(new_pq, ignore_errors=True)
        new_pq.mkdir()
        con.execute(f"ATTACH {_literal(str(new_db))} AS new")
        counts = {}
        for t in tables:
            if t == "_publication":
                continue
            con.execute(f"CREATE TABLE new.main.{quote_ident(t)} AS SELECT * FROM old.main.{quote_ident(t)} "
                        f"WHERE NOT {where[t]}", params)
            counts[t] = int(con.execute(f"SELECT count(*) FROM new.main.{quote_ident(t)}").fetchone()[0])
        if "_publication" in tables:
            con.execute("CREATE TABLE new.main._publication AS SELECT version, seq, published_at, "
                        "MAP($names::VARCHAR[], $counts::BIGINT[]) AS row_counts, metadata FROM old.main._publication",
                        {"names": list(counts), "counts": list(counts.values())})
        for t in counts:
            con.execute(f"COPY new.main.{quote_ident(t)} TO {_literal(str(new_pq / f'{t}.parquet'))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        con.execute("DETACH new")
    for name in ("manifest.json", "parquet/_publication.json"):  # row counts as they now are
        path = vdir / name
        if path.is_file():
            data = json.loads(path.read_text())
            data["row_counts"] = counts
            (new_pq / f"{path.name}.json-new").write_text(json.dumps(data, indent=2, sort_keys=True))
    _swap_version(layout, info, new_db, new_pq)
    return sum(hits.values()) + parquet_hits


def _swap_version(layout: Any, info: Any, new_db: Path, new_pq: Path) -> None:
    from connectors.warehouse.versions import TMP_PREFIX

    vdir: Path = info.path
    for staged in sorted(new_pq.iterdir()):
        name = staged.name.removesuffix(".json-new")
        target = vdir / name if name == "manifest.json" else info.parquet_dir / name
        os.chmod(staged, 0o444)
        os.replace(staged, target)
    new_pq.rmdir()
    os.chmod(new_db, 0o444)
    _fsync(new_db)
    os.replace(new_db, info.db_path)
    if info.serving:  # marts.duckdb is a hard link to the old inode: point it at the new file
        tmp = layout.root / f"{TMP_PREFIX}erase.duckdb"
        tmp.unlink(missing_ok=True)
        try:
            os.link(info.db_path, tmp)
        except OSError:
            shutil.copy2(info.db_path, tmp)
        os.replace(tmp, layout.serving_db)
    _fsync(vdir)
    _fsync(layout.root)


# ---------------------------------------------------------------------------------------------- ingest hook


def _suppressed(con: duckdb.DuckDBPyConnection) -> tuple[set[str], dict[str, set[str]]]:
    try:
        rows = con.execute(f"SELECT person_key, source, record_id FROM {SUPPRESSION_TABLE}").fetchall()
    except duckdb.CatalogException:  # nobody was ever erased in this warehouse
        return set(), {}
    keys = {k for k, _, _ in rows}
    ids: dict[str, set[str]] = {}
    for _, source, record_id in rows:
        if source and record_id:
            ids.setdefault(source, set()).add(record_id)
    return keys, ids


def drop_suppressed(con: duckdb.DuckDBPyConnection, source: str, table: str, batch: pa.Table) -> pa.Table:
    """The raw-landing hook: ``batch`` without rows of erased people (one cheap query when nobody was erased).

    A row is dropped when a text column holds an address whose HMAC key is suppressed, or when it is an erased
    record or one about it (Salesforce ``PERSON_TABLES`` pointing at an erased Id, HubSpot contact associations).
    """
    keys, ids = _suppressed(con)
    if not keys or batch.num_rows == 0:
        return batch
    drop = pa.array([False] * batch.num_rows)
    secret: bytes | None = None
    for name in batch.column_names:
        column = batch.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        if source == "salesforce" and table in PERSON_TABLES and ids.get("salesforce"):
            drop = pc.or_(drop, pc.fill_null(pc.is_in(column, pa.array(sorted(ids["salesforce"]))), False))
        if source == "hubspot" and ids.get("hubspot") and name == _hubspot_contact_side(table):
            drop = pc.or_(drop, pc.fill_null(pc.is_in(column, pa.array(sorted(ids["hubspot"]))), False))
        with_at = pc.fill_null(pc.match_substring(column, "@"), False)
        if not pc.any(with_at).as_py():
            continue
        secret = secret if secret is not None else secret_from_env()  # erasures exist: keeping them out needs it
        bad = [value for value in set(pc.filter(column, with_at).to_pylist())
               if any(person_key(token, secret) in keys for token in EMAIL_TOKEN.findall(value))]
        if bad:
            drop = pc.or_(drop, pc.fill_null(pc.is_in(column, pa.array(bad, column.type)), False))
    return batch.filter(pc.invert(drop)) if pc.any(drop).as_py() else batch
