"""The shapes a suite is written in: plain data, so the registry imports without Great Expectations (slow to import).

Two kinds of expectation:
- ColumnCheck: a GX expectation (class name + kwargs) evaluated by GX on the mart read into pandas.
- RowsCheck: an "unexpected rows" SQL query run in DuckDB over the same read-only connection; GX then expects the
  result to be empty (ExpectTableRowCountToEqual(0)). GX 1.x's UnexpectedRowsExpectation needs a SQL data source and
  GX has none for DuckDB, so the SQL runs here and GX judges its result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from expectations.config import GateConfig


@dataclass(frozen=True)
class ColumnCheck:
    id: str
    expectation: str  # class name in great_expectations.expectations
    kwargs: Mapping[str, Any]
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        cols = [self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs]
        return (*cols, *self.kwargs.get("column_list", ()))


@dataclass(frozen=True)
class Query:
    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Skip:
    """The check cannot apply this run (no published version yet, no reference time); it passes with this note."""

    note: str


@dataclass(frozen=True)
class QueryContext:
    mart: str
    config: GateConfig
    reference_time: datetime | None
    # relation ("schema.name") -> {column: data type} for every table and view in the working file
    catalog: Mapping[str, Mapping[str, str]]
    # the same mart in the last published version ("published.<schema>.<mart>"), None when there is none
    published_relation: str | None

    def has(self, relation: str) -> bool:
        return relation in self.catalog

    def rel(self, mart: str | None = None) -> str:
        return f"{self.config.marts_schema}.{mart or self.mart}"


@dataclass(frozen=True)
class RowsCheck:
    id: str
    description: str
    query: Callable[[QueryContext], Query | Skip]
    requires: tuple[str, ...] = ()  # relations that must exist, else the check fails naming them


@dataclass(frozen=True)
class MartSuite:
    mart: str
    key_columns: tuple[str, ...]
    column_checks: tuple[ColumnCheck, ...]
    rows_checks: tuple[RowsCheck, ...]

    @property
    def name(self) -> str:
        return f"gx_{self.mart}"

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in (*self.column_checks, *self.rows_checks))

    def __post_init__(self) -> None:
        ids = self.check_ids
        if len(ids) != len(set(ids)):
            raise ValueError(f"{self.mart}: duplicate expectation ids in {ids}")
