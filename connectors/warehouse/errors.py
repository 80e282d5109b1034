"""Errors raised by the raw layer."""

from __future__ import annotations

from typing import Any

from connectors.warehouse.columns import HostileIdentifierError

__all__ = ["HostileIdentifierError", "LoadError", "SchemaDriftError"]


class LoadError(Exception):
    """A batch could not be loaded; the transaction was rolled back (no rows written, state not advanced).

    ``table`` is ``schema.table``; ``primary_key_value``, ``column`` and ``value`` name the offending record
    and value when the failure is a value that does not convert.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        primary_key_value: Any = None,
        column: str | None = None,
        value: Any = None,
    ) -> None:
        super().__init__(message)
        self.table = table
        self.primary_key_value = primary_key_value
        self.column = column
        self.value = value


class SchemaDriftError(LoadError):
    """Schema policy ``fail``: the source schema changed (added, removed or retyped field)."""
