"""Write-audit-publish, the *publish* step: copy checked candidate marts into a new serving version and swap it in.

``publish()`` never writes the working file nor a published file: it builds a brand-new DuckDB file (each mart a
table of the same name in the default schema, plus a one-row ``_publication`` table) and one Parquet file per
mart in ``<home>/serving/.staging-<id>/``, checkpoints, closes and fsyncs them, moves the folder to
``versions/<id>/`` and only then swaps it in with two atomic renames (:func:`versions.install`). Anything that
fails before the swap (a missing mart, an unreadable candidate, a full disk) removes the staging folder and
leaves ``marts.duckdb`` and the ``parquet`` link untouched; a crash leaves only ``.staging-*``/``.tmp-*``
entries, which the next publish or rollback removes.

BI contract (see ``versions`` for why each holds):
    * Open ``<home>/serving/marts.duckdb`` with ``read_only=True``; it is never written in place, so readers never
      need (or block) the pipeline's lock. A connection sees one version for its whole life, even across swaps
      and pruning; reconnect to see a newer one. In one Python process, ``duckdb.connect(path)`` returns the
      *cached* instance while another connection to that path is open (the old inode): close them all, or
      ``ATTACH '<path>' (READ_ONLY)`` from a fresh ``duckdb.connect()``.
    * ``SELECT * FROM _publication`` names the version, its publish time, rows per mart and the run metadata.
    * Parquet: ``<home>/serving/parquet/<mart>.parquet``; each file is one whole version. For several marts from
      the same version, resolve the ``parquet`` link once (``os.path.realpath``) and read from that folder.

The Dagster ``published_marts`` asset calls :func:`publish` after every gating check passed; ``acctwh rollback``
calls :func:`rollback`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.warehouse.columns import HostileIdentifierError, quote_ident, validate_identifier
from connectors.warehouse.versions import (
    MANIFEST,
    PARQUET_LINK,
    PUBLICATION_JSON,
    SERVING_DB,
    RollbackError,
    ServingBusyError,
    ServingError,
    ServingLayout,
    VersionInfo,
    check_parquet_link,
    clean_stray,
    current_version,
    fsync_path,
    install,
    list_versions,
    parquet_version,
    prune,
    rollback,
    serving_lock,
    validate_version_id,
)

__all__ = [
    "PUBLICATION_TABLE",
    "PublishError",
    "PublishResult",
    "RollbackError",
    "ServingBusyError",
    "ServingError",
    "ServingLayout",
    "VersionInfo",
    "current_version",
    "list_versions",
    "parquet_version",
    "publish",
    "rollback",
]

PUBLICATION_TABLE = "_publication"
_SOURCE_ALIAS = "__candidate"
_ARROW_BATCH = 122_880  # DuckDB's row-group size: one Arrow batch per row group when streaming a connection
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|passwd|api[_-]?key|credential|private[_-]?key)")


class PublishError(ServingError):
    """The publish failed before the swap; BI still reads the previous version. Names the mart and/or file."""

    def __init__(self, message: str, *, mart: str | None = None, path: Path | None = None) -> None:
        super().__init__(message)
        self.mart = mart
        self.path = path


@dataclass(frozen=True)
class PublishResult:
    """What a publish produced (all paths are the stable ones BI uses, except ``version_dir``)."""

    version: str
    seq: int
    published_at: datetime
    row_counts: dict[str, int]
    serving_path: Path
    parquet_dir: Path
    parquet_files: dict[str, Path]
    version_dir: Path
    previous_version: str | None
    pruned: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    duckdb_bytes: int = 0
    parquet_bytes: int = 0

    def summary(self) -> dict[str, Any]:
        """Plain values for run metadata / logs (no secrets: paths, counts and sizes only)."""
        return {
            "version": self.version, "previous_version": self.previous_version,
            "published_at": self.published_at.isoformat(), "row_counts": dict(self.row_counts),
            "serving_path": str(self.serving_path), "parquet_dir": str(self.parquet_dir),
            "pruned": list(self.pruned), "duration_s": round(self.duration_s, 3),
            "duckdb_bytes": self.duckdb_bytes, "parquet_bytes": self.parquet_bytes,
        }


@contextlib.contextmanager
def _step(what: str, *, mart: str | None = None, path: Path | None = None) -> Iterator[None]:
    """Turn any failure of one step into a PublishError that says what was being done, to which mart/file."""
    try:
        yield
    except PublishError:
        raise
    except Exception as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
        raise PublishError(f"{what}: {detail}", mart=mart, path=path) from exc


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    bad = [k for k in metadata if _SECRET_KEY.search(str(k))]
    if bad:
        raise PublishError(f"metadata must not carry secrets; refusing key(s) {', '.join(map(repr, bad))}")
    try:
        return json.loads(json.dumps(dict(metadata), default=str))
    except (TypeError, ValueError) as exc:
        raise PublishError(f"metadata is not JSON-serializable: {exc}") from exc


def _source_tables(con: duckdb.DuckDBPyConnection, catalog: str | None, schema: str) -> dict[str, tuple[str, str]]:
    """lower(name) -> (name, type) of the tables and views in ``catalog.schema`` (None = current database)."""
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = coalesce(?, current_database()) AND table_schema = ?", [catalog, schema]
    ).fetchall()
    return {str(name).lower(): (str(name), str(kind)) for name, kind in rows}


def _resolve_marts(available: dict[str, tuple[str, str]], marts: Sequence[str] | None, where: str) -> list[str]:
    if marts is None:  # default: every base table of the schema (views are not marts here)
        names = sorted(name for name, kind in available.values() if kind == "BASE TABLE")
        if not names:
            raise PublishError(f"no mart tables found in {where}")
        names = [n for n in names if n.lower() != PUBLICATION_TABLE]
    else:
        names = list(dict.fromkeys(marts))
        if not names:
            raise PublishError("no marts to publish (an empty list was given)")
    for name in names:
        if name.lower() == PUBLICATION_TABLE:
            raise PublishError(f"{PUBLICATION_TABLE!r} is reserved for the publication record", mart=name)
        try:  # also keeps the Parquet file name inside the folder
            validate_identifier(name, where="mart")
        except HostileIdentifierError as exc:
            raise PublishError(str(exc), mart=name) from None
        if name.lower() not in available:
            raise PublishError(f"mart {name!r} not found in {where}", mart=name)
    return names


def _copy_from_path(dst: duckdb.DuckDBPyConnection, working: Path, schema: str, marts: Sequence[str] | None
                    ) -> list[str]:
    where = f"schema {schema!r} of {working}"
    if not working.is_file():
        raise PublishError(f"candidate file {working} does not exist", path=working)
    with _step(f"cannot open the candidate {working} read-only", path=working):
        dst.execute(f"ATTACH {_literal(str(working))} AS {_SOURCE_ALIAS} (READ_ONLY)")
    try:
        with _step(f"cannot list the marts in {where}", path=working):
            available = _source_tables(dst, _SOURCE_ALIAS, schema)
        names = _resolve_marts(available, marts, where)
        dst.execute("BEGIN")  # one transaction: every mart comes from one snapshot of the candidate
        for name in names:
            src = f"{_SOURCE_ALIAS}.{quote_ident(schema)}.{quote_ident(available[name.lower()][0])}"
            with _step(f"copying mart {name!r} from {working}", mart=name, path=working):
                dst.execute(f"CREATE TABLE main.{quote_ident(name)} AS SELECT * FROM {src}")
        dst.execute("COMMIT")
    finally:
        with contextlib.suppress(duckdb.Error):
            dst.execute("ROLLBACK")
        with contextlib.suppress(duckdb.Error):  # DETACH releases the file handle now, not at instance close
            dst.execute(f"DETACH {_SOURCE_ALIAS}")
    return names


def _copy_from_connection(dst: duckdb.DuckDBPyConnection, src: duckdb.DuckDBPyConnection, schema: str,
                          marts: Sequence[str] | None) -> list[str]:
    """The caller already holds the working file (e.g. read-write): stream each mart through Arrow.

    Arrow would turn HUGEINT/ENUM/UUID into other types, so each table is created with the source's column types
    first and the batches are cast on INSERT.
    """
    where = f"schema {schema!r} of the given connection"
    with _step(f"cannot list the marts in {where}"):
        available = _source_tables(src, None, schema)
    names = _resolve_marts(available, marts, where)
    for name in names:
        source = f"{quote_ident(schema)}.{quote_ident(available[name.lower()][0])}"
        target = f"main.{quote_ident(name)}"
        with _step(f"copying mart {name!r}", mart=name):
            cols = src.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            dst.execute(f"CREATE TABLE {target} ({', '.join(f'{quote_ident(c[0])} {c[1]}' for c in cols)})")
            reader = src.sql(f"SELECT * FROM {source}").to_arrow_reader(_ARROW_BATCH)
            dst.register("__publish_batches", reader)
            try:
                dst.execute(f"INSERT INTO {target} SELECT * FROM __publish_batches")
            finally:
                dst.unregister("__publish_batches")
    return names


def _write_parquet(con: duckdb.DuckDBPyConnection, mart: str, path: Path) -> None:
    con.execute(f"COPY main.{quote_ident(mart)} TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")


def _build(staging: Path, working: str | os.PathLike[str] | duckdb.DuckDBPyConnection, schema: str,
           marts: Sequence[str] | None, record: dict[str, Any]) -> tuple[dict[str, int], int, int]:
    """Write staging/marts.duckdb, staging/parquet/*.parquet and the manifest; all synced to disk."""
    db = staging / SERVING_DB
    parquet_dir = staging / PARQUET_LINK
    parquet_dir.mkdir(parents=True)
    with _step(f"cannot create the new serving file {db}", path=db):
        con = duckdb.connect(str(db))
    try:
        if isinstance(working, duckdb.DuckDBPyConnection):
            names = _copy_from_connection(con, working, schema, marts)
        else:
            names = _copy_from_path(con, Path(working), schema, marts)
        counts: dict[str, int] = {}
        for name in names:
            with _step(f"counting rows of mart {name!r} in {db}", mart=name, path=db):
                counts[name] = int(con.execute(f"SELECT count(*) FROM main.{quote_ident(name)}").fetchone()[0])
        record = {**record, "row_counts": counts}
        with _step(f"writing the {PUBLICATION_TABLE} table to {db}", path=db):
            con.execute(f"CREATE TABLE main.{PUBLICATION_TABLE} (version VARCHAR, seq BIGINT, published_at "
                        "TIMESTAMPTZ, row_counts MAP(VARCHAR, BIGINT), metadata VARCHAR)")
            con.execute(f"INSERT INTO main.{PUBLICATION_TABLE} VALUES (?, ?, ?, MAP(?::VARCHAR[], ?::BIGINT[]), ?)",
                        [record["version"], record["seq"], record["published_at"], list(counts),
                         list(counts.values()), json.dumps(record["metadata"], sort_keys=True)])
            con.execute("CHECKPOINT")  # everything into the main file: a published file must never need a WAL
        for name in names:
            target = parquet_dir / f"{name}.parquet"
            with _step(f"writing {target} for mart {name!r}", mart=name, path=target):
                _write_parquet(con, name, target)
    finally:
        con.close()
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        raise PublishError(f"{wal} remained after CHECKPOINT; the new serving file is not self-contained", path=wal)
    text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    (parquet_dir / PUBLICATION_JSON).write_text(text)
    (staging / MANIFEST).write_text(text)
    with _step(f"syncing {staging} to disk", path=staging):
        for path in [*parquet_dir.iterdir(), parquet_dir, db, staging / MANIFEST, staging]:
            if path.is_file():
                os.chmod(path, 0o444)  # published files are immutable; a read-write open by a non-root BI tool fails
            fsync_path(path)
    parquet_bytes = sum(p.stat().st_size for p in parquet_dir.glob("*.parquet"))
    return counts, db.stat().st_size, parquet_bytes


def publish(
    working: str | os.PathLike[str] | duckdb.DuckDBPyConnection,
    home: str | os.PathLike[str],
    marts: Sequence[str] | None = None,
    *,
    keep: int = 5,
    source_schema: str = "marts",
    version: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> PublishResult:
    """Publish the candidate marts of ``working`` as a new version and make it what BI reads.

    ``working`` is the working DuckDB file (attached READ_ONLY, never written; works while the caller holds it
    open read-only) or an open connection to it (streamed; use this when the caller holds it read-write).
    ``marts`` defaults to every table in ``source_schema``. ``metadata`` (e.g. the dbt run id, the as-of date)
    lands in ``_publication`` and the manifest: plain JSON, keys that look like secrets are refused. Keeps the
    newest ``keep`` versions. Raises :class:`PublishError` (BI untouched) or :class:`ServingBusyError`.
    """
    started = time.perf_counter()
    if keep < 1:
        raise PublishError(f"keep must be at least 1, got {keep}")
    try:
        validate_identifier(source_schema, where="source schema")
    except HostileIdentifierError as exc:
        raise PublishError(str(exc)) from None
    meta = _check_metadata(metadata)
    layout = ServingLayout.for_home(home)
    with serving_lock(layout):
        clean_stray(layout)
        check_parquet_link(layout)
        kept = list_versions(home)
        previous = next((v.version for v in kept if v.serving), None)
        seq = max((v.seq for v in kept), default=0) + 1
        published_at = (clock or (lambda: datetime.now(UTC)))()
        version = validate_version_id(version or f"v{seq:04d}-{published_at:%Y%m%dT%H%M%SZ}")
        vdir = layout.version_dir(version)
        if vdir.exists():
            raise PublishError(f"version {version!r} already exists in {layout.versions}", path=vdir)
        staging = layout.staging_dir(version)
        record = {"version": version, "seq": seq, "published_at": published_at.isoformat(), "metadata": meta,
                  "source_schema": source_schema}
        try:
            counts, db_bytes, parquet_bytes = _build(staging, working, source_schema, marts, record)
            layout.versions.mkdir(exist_ok=True)
            with _step(f"moving {staging} to {vdir}", path=vdir):
                os.rename(staging, vdir)  # same filesystem: the version folder appears whole or not at all
                fsync_path(layout.versions)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        try:
            install(layout, version)
        except BaseException as exc:
            swapped = False
            with contextlib.suppress(Exception):
                swapped = current_version(home) == version
            if not swapped:  # BI still reads the previous version: forget this one entirely
                shutil.rmtree(vdir, ignore_errors=True)
            if isinstance(exc, Exception) and not isinstance(exc, ServingError):
                raise PublishError(f"swapping in {version}: {exc}", path=layout.serving_db) from exc
            raise
        pruned = prune(layout, keep, protect={version})
    return PublishResult(
        version=version, seq=seq, published_at=published_at, row_counts=counts, serving_path=layout.serving_db,
        parquet_dir=layout.parquet_link,
        parquet_files={name: layout.parquet_link / f"{name}.parquet" for name in counts},
        version_dir=vdir, previous_version=previous, pruned=pruned, duration_s=time.perf_counter() - started,
        duckdb_bytes=db_bytes, parquet_bytes=parquet_bytes,
    )
