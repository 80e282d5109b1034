"""Startup recovery of the working DuckDB file: a write-ahead log that cannot be replayed is quarantined.

After a crash DuckDB replays ``<file>.wal`` on the next open. A WAL damaged on disk (a bad sector, a full disk,
a bug: duckdb #19712/#22044) makes that open fail with "Failure while replaying WAL" / "Corrupt WAL file", and the
file stays unopenable until the WAL is gone. :func:`recover_working_file` runs before every read-write open of the
working file (``RawWarehouse``, the dbt step): it tries the open, and only on such an error it

1. moves the WAL aside to ``<file>.wal.quarantine-<UTC timestamp>`` (a rename: the bytes are kept for a post
   mortem, never deleted),
2. logs a WARNING naming both paths (logger ``acctwh.warehouse.recovery``; the caller may also alert),
3. opens again: the file is then its last checkpoint. The lost tail is rebuilt by the next run, because every raw
   batch and its stream cursor commit in one transaction (``raw.py``): the checkpoint holds cursors that match its
   rows, so ingestion resumes from there and dbt rebuilds the marts. The published serving file is never touched.

A lock held by another process is NOT a WAL problem and is re-raised untouched (never quarantine what a live writer
owns). DuckDB itself ignores a torn or unrecognisable WAL tail (it treats it as uncommitted), which needs no action
for the same reason as 3.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

__all__ = ["QUARANTINE_INFIX", "Quarantine", "WalRecoveryError", "is_wal_failure", "recover_working_file"]

log = logging.getLogger("acctwh.warehouse.recovery")
QUARANTINE_INFIX = ".quarantine-"
_WAL_ERRORS = ("failure while replaying wal", "corrupt wal", "replaying wal")


class WalRecoveryError(Exception):
    """The working file cannot be opened even without its WAL; names the file (restore it or rebuild from source)."""


@dataclass(frozen=True)
class Quarantine:
    """A WAL that was moved aside: where it went and the error that made it necessary."""

    database: Path
    wal: Path
    moved_to: Path
    error: str

    def message(self) -> str:
        return (f"{self.database}: its write-ahead log could not be replayed ({self.error}); moved it to "
                f"{self.moved_to} (kept for inspection). The file is back at its last checkpoint: the next run "
                "re-ingests from the committed cursors and rebuilds the marts; the published marts are unaffected.")


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def is_wal_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "could not set lock" not in text and any(marker in text for marker in _WAL_ERRORS)


def recover_working_file(database: str | os.PathLike[str], *,
                         clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Quarantine | None:
    """Make ``database`` openable read-write; returns what was quarantined, or None when nothing had to be.

    Cheap when there is no WAL (a clean shutdown leaves none): no open at all.
    """
    path = Path(database)
    wal = wal_path(path)
    if not path.exists() or not wal.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
        return None
    except duckdb.Error as exc:
        if not is_wal_failure(exc):
            raise
        error = str(exc).strip().splitlines()[0]
    target = wal.with_name(f"{wal.name}{QUARANTINE_INFIX}{clock():%Y%m%dT%H%M%S%fZ}")
    os.rename(wal, target)  # same folder: atomic, and the bytes stay on disk
    found = Quarantine(database=path, wal=wal, moved_to=target, error=error)
    log.warning(found.message())
    try:
        duckdb.connect(str(path)).close()
    except duckdb.Error as exc:
        raise WalRecoveryError(f"{path} cannot be opened even without its WAL (kept at {target}): {exc}; restore "
                               "the file from a backup or delete it to rebuild the raw layer from source") from exc
    return found
