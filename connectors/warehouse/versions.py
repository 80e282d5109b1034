"""Published versions of the serving layer: the on-disk layout, the atomic swap, rollback and pruning.

Layout under ``<home>/serving/``::

    marts.duckdb                 what BI opens (read-only): a hard link to versions/<id>/marts.duckdb
    parquet -> versions/<id>/parquet     a relative symlink; BI reads parquet/<mart>.parquet
    versions/<id>/marts.duckdb   one immutable, checkpointed DuckDB file per published version
    versions/<id>/parquet/       <mart>.parquet per mart + _publication.json
    versions/<id>/manifest.json  version, seq, published_at, row counts, metadata
    .staging-<id>/  .tmp-*       in-flight files of a publish (removed on failure, or by the next publish)
    .publish.lock                flock held by publish/rollback (one writer of the serving folder at a time)

Why this is atomic for readers
    * DuckDB file: :func:`install` hard-links the version's file to a temp name and ``os.replace``-s it onto
      ``marts.duckdb``: rename(2) swaps the directory entry in one step, so an ``open()`` gets the old inode or
      the new one, never a partial file. A reader that already holds the old file keeps its inode (POSIX keeps an
      unlinked/replaced inode alive while open), and nothing ever writes a published inode again, so it keeps
      reading the old version; its read-only lock never blocks the publisher, which writes only new files.
    * Parquet: every published Parquet file is immutable; the ``parquet`` symlink is replaced in one rename, so
      each path lookup of ``parquet/<mart>.parquet`` sees one whole version. Two lookups made across a swap can
      see two versions: a reader that needs several marts from one version resolves the link once
      (``os.path.realpath``) or checks ``parquet/_publication.json`` before and after.
    * The two swaps (DuckDB file, then the symlink) are two renames, not one: between them, for microseconds,
      the DuckDB file is one version ahead of the Parquet folder. Each is internally consistent.

Nothing here imports Dagster; :mod:`connectors.warehouse.serving` builds a version, this module installs it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "RollbackError",
    "ServingBusyError",
    "ServingError",
    "ServingLayout",
    "VersionInfo",
    "current_version",
    "install",
    "list_versions",
    "parquet_version",
    "prune",
    "realign_parquet_link",
    "rollback",
    "serving_lock",
]

SERVING_DIR = "serving"
SERVING_DB = "marts.duckdb"
PARQUET_LINK = "parquet"
VERSIONS_DIR = "versions"
MANIFEST = "manifest.json"
PUBLICATION_JSON = "_publication.json"
STAGING_PREFIX = ".staging-"
TMP_PREFIX = ".tmp-"
LOCK_FILE = ".publish.lock"
VERSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


class ServingError(Exception):
    """A publish or rollback could not be done; the serving file and the parquet link were left as they were."""


class ServingBusyError(ServingError):
    """Another publish or rollback holds ``<home>/serving/.publish.lock``."""


class RollbackError(ServingError):
    """Nothing (or no such version) to roll back to; ``folder`` is the versions folder that was looked at."""

    def __init__(self, message: str, *, folder: Path) -> None:
        super().__init__(message)
        self.folder = folder


@dataclass(frozen=True)
class ServingLayout:
    """The paths of one serving folder (``<home>/serving``)."""

    root: Path

    @classmethod
    def for_home(cls, home: str | os.PathLike[str]) -> ServingLayout:
        return cls(Path(home) / SERVING_DIR)

    @property
    def serving_db(self) -> Path:
        return self.root / SERVING_DB

    @property
    def parquet_link(self) -> Path:
        return self.root / PARQUET_LINK

    @property
    def versions(self) -> Path:
        return self.root / VERSIONS_DIR

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    def staging_dir(self, version: str) -> Path:
        return self.root / f"{STAGING_PREFIX}{version}"


@dataclass(frozen=True)
class VersionInfo:
    """One kept version, from its ``manifest.json``."""

    version: str
    seq: int
    published_at: str
    row_counts: dict[str, int]
    metadata: dict[str, Any]
    path: Path
    serving: bool = False  # marts.duckdb is this version
    parquet: bool = False  # the parquet link points at this version

    @property
    def db_path(self) -> Path:
        return self.path / SERVING_DB

    @property
    def parquet_dir(self) -> Path:
        return self.path / PARQUET_LINK


def validate_version_id(version: str) -> str:
    if not VERSION_ID.fullmatch(version):
        raise ServingError(f"invalid version id {version!r}: use letters, digits, '.', '_' and '-' (max 100)")
    return version


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (a rename is durable only once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def serving_lock(layout: ServingLayout) -> Iterator[None]:
    """Exclusive, non-blocking: a second publish/rollback fails fast instead of interleaving renames."""
    layout.root.mkdir(parents=True, exist_ok=True)
    handle = open(layout.root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock, single publisher assumed
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ServingBusyError(f"another publish or rollback is running on {layout.root}") from None
            raise
        yield
    finally:
        handle.close()  # closing releases the flock


def _read_manifest(version_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((version_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == version_dir.name else None


def parquet_version(home: str | os.PathLike[str]) -> str | None:
    """The version the ``parquet`` link points at (None if there is no link)."""
    link = ServingLayout.for_home(home).parquet_link
    try:
        target = Path(os.readlink(link))
    except OSError:
        return None
    return target.parent.name


def _serving_version_by_inode(layout: ServingLayout, dirs: list[Path]) -> str | None:
    for d in dirs:
        with contextlib.suppress(OSError):
            if os.path.samefile(layout.serving_db, d / SERVING_DB):
                return d.name
    return None


def current_version(home: str | os.PathLike[str]) -> str | None:
    """The version BI reads from ``marts.duckdb`` (None when nothing was published).

    Cheap path: the serving file is a hard link of one version's file. Fallback (copied instead of linked, or
    that version was pruned): read ``_publication`` through ATTACH in a private in-memory instance, which neither
    takes the pipeline's lock nor reuses a cached connection to an older inode.
    """
    layout = ServingLayout.for_home(home)
    if not layout.serving_db.exists():
        return None
    dirs = sorted(p for p in layout.versions.iterdir() if p.is_dir()) if layout.versions.is_dir() else []
    found = _serving_version_by_inode(layout, dirs)
    if found is not None:
        return found
    import duckdb

    with duckdb.connect() as con:
        path = str(layout.serving_db).replace("'", "''")
        con.execute(f"ATTACH '{path}' AS serving (READ_ONLY)")
        row = con.execute("SELECT version FROM serving.main._publication LIMIT 1").fetchone()
    return str(row[0]) if row else None


def list_versions(home: str | os.PathLike[str]) -> list[VersionInfo]:
    """Kept versions, newest first (by publish sequence); incomplete folders (no manifest) are skipped."""
    layout = ServingLayout.for_home(home)
    if not layout.versions.is_dir():
        return []
    dirs = [p for p in layout.versions.iterdir() if p.is_dir()]
    serving = _serving_version_by_inode(layout, dirs)
    if serving is None and layout.serving_db.exists():
        with contextlib.suppress(Exception):
            serving = current_version(home)
    linked = parquet_version(home)
    out = []
    for d in dirs:
        m = _read_manifest(d)
        if m is None:
            continue
        out.append(VersionInfo(
            version=d.name, seq=int(m.get("seq", 0)), published_at=str(m.get("published_at", "")),
            row_counts={str(k): int(v) for k, v in (m.get("row_counts") or {}).items()},
            metadata=dict(m.get("metadata") or {}), path=d, serving=d.name == serving, parquet=d.name == linked,
        ))
    return sorted(out, key=lambda v: (v.seq, v.published_at, v.version), reverse=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a filesystem without hard links: a copy is byte-identical, only bigger
        shutil.copy2(src, dst)


def check_parquet_link(layout: ServingLayout) -> None:
    """The ``parquet`` entry must be absent or a symlink (a real folder cannot be swapped atomically)."""
    link = layout.parquet_link
    if os.path.lexists(link) and not link.is_symlink():
        raise ServingError(f"{link} is a real folder, not the symlink publish manages; move it away first")


def install(layout: ServingLayout, version: str) -> None:
    """Make ``version`` what BI reads: two atomic renames (DuckDB file, then the parquet symlink), then fsync.

    Both temp entries are created next to their targets (same directory, same filesystem), so ``os.replace`` is
    a rename(2). The DuckDB file is swapped first: it is the version of record (:func:`current_version`).
    """
    check_parquet_link(layout)
    vdir = layout.version_dir(version)
    if not (vdir / SERVING_DB).is_file():
        raise ServingError(f"version folder {vdir} has no {SERVING_DB}")
    tmp_db = layout.root / f"{TMP_PREFIX}{version}.duckdb"
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp_db.unlink()
        _link_or_copy(vdir / SERVING_DB, tmp_db)
        os.replace(tmp_db, layout.serving_db)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_db.unlink()
    _point_parquet_link(layout, version)


def _point_parquet_link(layout: ServingLayout, version: str) -> None:
    """Switch the ``parquet`` symlink to ``version`` with one rename, then fsync the folder."""
    tmp_link = layout.root / f"{TMP_PREFIX}{version}.parquet"
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        os.symlink(Path(VERSIONS_DIR) / version / PARQUET_LINK, tmp_link, target_is_directory=True)
        os.replace(tmp_link, layout.parquet_link)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
    fsync_path(layout.root)


def prune(layout: ServingLayout, keep: int, *, protect: set[str] | None = None) -> list[str]:
    """Delete all but the newest ``keep`` versions, never one in ``protect`` (what BI currently reads).

    Safe for readers holding a pruned version open: unlinking leaves their open inodes readable.
    """
    protect = protect or set()
    removed = []
    for info in list_versions(layout.root.parent)[keep:]:
        if info.version in protect or info.serving or info.parquet:
            continue
        shutil.rmtree(info.path, ignore_errors=True)
        removed.append(info.version)
    return removed


def clean_stray(layout: ServingLayout) -> list[Path]:
    """Remove leftovers of a crashed publish: staging folders, temp entries, version folders without manifest.

    Called under :func:`serving_lock`, so nothing in flight is touched.
    """
    removed: list[Path] = []
    if not layout.root.is_dir():
        return removed
    for entry in layout.root.iterdir():
        if entry.name.startswith((STAGING_PREFIX, TMP_PREFIX)):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
            removed.append(entry)
    if layout.versions.is_dir():
        dirs = [d for d in layout.versions.iterdir() if d.is_dir()]
        in_use = {parquet_version(layout.root.parent), _serving_version_by_inode(layout, dirs)}
        for d in dirs:
            if _read_manifest(d) is None and d.name not in in_use:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
    return removed


def _realign(layout: ServingLayout) -> tuple[str, str | None] | None:
    """Point ``parquet`` at the version ``marts.duckdb`` serves when a crash fell between install's two renames."""
    if not layout.serving_db.exists() or not layout.versions.is_dir():
        return None
    dirs = [d for d in layout.versions.iterdir() if d.is_dir()]
    serving = _serving_version_by_inode(layout, dirs)
    linked = parquet_version(layout.root.parent)
    if serving is None or serving == linked or not (layout.version_dir(serving) / PARQUET_LINK).is_dir():
        return None
    check_parquet_link(layout)
    _point_parquet_link(layout, serving)
    return serving, linked


def realign_parquet_link(home: str | os.PathLike[str]) -> str | None:
    """After a publish or rollback killed between its two renames, BI's Parquet is one version behind the DuckDB
    file until the next publish, which a failing gate may hold back for days. Re-point it now (under the serving
    lock; skipped if a publish is running). Returns what was done, for the run log, or None if nothing was needed.
    """
    layout = ServingLayout.for_home(home)
    if not layout.root.is_dir():
        return None
    try:
        with serving_lock(layout):
            moved = _realign(layout)
    except ServingBusyError:
        return None
    if moved is None:
        return None
    serving, was = moved
    return (f"{layout.parquet_link} pointed at {was or 'nothing'} while {layout.serving_db} serves {serving} "
            f"(a publish or rollback was interrupted between its two renames); re-pointed it to {serving}")


def rollback(home: str | os.PathLike[str], to_version: str | None = None) -> str:
    """Serve the version before the current one (or ``to_version``); returns the version now served.

    Raises :class:`RollbackError` naming the versions folder when there is nothing to roll back to.
    """
    layout = ServingLayout.for_home(home)
    with serving_lock(layout):
        clean_stray(layout)
        versions = list_versions(home)
        if not versions:
            raise RollbackError(f"nothing to roll back to: no published versions in {layout.versions}",
                                folder=layout.versions)
        current = next((v for v in versions if v.serving), None)
        if to_version is not None:
            target = next((v for v in versions if v.version == to_version), None)
            if target is None:
                kept = ", ".join(v.version for v in versions)
                raise RollbackError(f"version {to_version!r} is not kept in {layout.versions} (kept: {kept})",
                                    folder=layout.versions)
            if target.serving and target.parquet:
                raise RollbackError(f"version {to_version!r} is already being served", folder=layout.versions)
        elif current is None:
            raise RollbackError(f"the serving file {layout.serving_db} is not one of the versions in "
                                f"{layout.versions}; pass a version to restore", folder=layout.versions)
        else:
            older = [v for v in versions if v.seq < current.seq]
            if not older:
                raise RollbackError(f"nothing to roll back to: {current.version} is the oldest version kept in "
                                    f"{layout.versions}", folder=layout.versions)
            target = older[0]
        install(layout, target.version)
        return target.version
