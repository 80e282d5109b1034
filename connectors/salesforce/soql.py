"""SOQL builders. Datetimes are emitted as ``YYYY-MM-DDTHH:MM:SSZ`` (unquoted), floored to the second.

Windows are closed-open on ``SystemModstamp`` and ordered by ``SystemModstamp, Id`` so a page boundary or
a tie on one millisecond can never lose a record (overlap is resolved by merging on Id).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

CURSOR_FIELD = "SystemModstamp"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")


def fmt_datetime(value: datetime) -> str:
    """A SOQL datetime literal in UTC, floored to the second (``2024-01-15T10:20:30Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"refusing to put {name!r} into SOQL: not a plain API name")
    return name


def _where(start: datetime | None, end: datetime | None, cursor_field: str = CURSOR_FIELD) -> str:
    parts = []
    if start is not None:
        parts.append(f"{_name(cursor_field)} >= {fmt_datetime(start)}")
    if end is not None:
        parts.append(f"{_name(cursor_field)} < {fmt_datetime(end)}")
    return f" WHERE {' AND '.join(parts)}" if parts else ""


def window_query(obj: str, fields: Sequence[str], start: datetime | None, end: datetime | None,
                 *, order: bool = True, cursor_field: str = CURSOR_FIELD) -> str:
    """Every field of ``obj`` for ``start <= SystemModstamp < end`` (either bound optional)."""
    text = f"SELECT {', '.join(_name(f) for f in fields)} FROM {_name(obj)}{_where(start, end, cursor_field)}"
    if order:
        text += f" ORDER BY {cursor_field} ASC, Id ASC"
    return text


def count_query(obj: str, start: datetime | None, end: datetime | None, *, cursor_field: str = CURSOR_FIELD) -> str:
    return f"SELECT COUNT() FROM {_name(obj)}{_where(start, end, cursor_field)}"


def id_query(obj: str) -> str:
    """All Ids (with queryAll: recycle-bin rows too), for hard-delete reconciliation."""
    return f"SELECT Id FROM {_name(obj)}"


def columns_query(obj: str, fields: Sequence[str], end: datetime | None = None, *,
                  cursor_field: str | None = CURSOR_FIELD) -> str:
    """``Id`` plus ``fields`` for every row (formula snapshot, new-column backfill)."""
    names = ["Id", *(f for f in fields if f != "Id")]
    where = _where(None, end, cursor_field) if cursor_field else ""
    return f"SELECT {', '.join(_name(f) for f in names)} FROM {_name(obj)}{where}"
