"""Validate marts in a working DuckDB file: read-only connection, GX in an ephemeral context, plain results.

Column rules run in GX on the mart read into pandas (only the columns the rules need). Reconciliations run as
"unexpected rows" SQL in DuckDB over the same read-only connection, and GX expects their result to be empty: GX 1.x
has no DuckDB data source, and pulling a 1.4M-row mart into pandas for a self-join is slower than DuckDB.
The last published version (the serving file) is attached READ_ONLY for the volume rules and detached afterwards.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from expectations.config import GateConfig
from expectations.gx_engine import GxEngine
from expectations.registry import MARTS, suite_for
from expectations.results import ExpectationOutcome, SuiteResult
from expectations.spec import ColumnCheck, MartSuite, QueryContext, RowsCheck, Skip

PUBLISHED = "published"  # alias of the attached serving file


@dataclass
class _Session:
    con: duckdb.DuckDBPyConnection
    catalog: dict[str, dict[str, str]]
    published: dict[str, str]  # mart -> "published.<schema>.<mart>"
    published_note: str | None


def validate_all(
    db_path: str | Path,
    *,
    config: GateConfig | None = None,
    published_path: str | Path | None = None,
    reference_time: datetime | None = None,
    marts: Sequence[str] | None = None,
) -> dict[str, SuiteResult]:
    """Run every registered suite (or ``marts``) against ``db_path``; never writes to either file."""
    config = config or GateConfig()
    suites = [suite_for(m, config) for m in (marts or MARTS)]
    engine = GxEngine()
    with _session(db_path, published_path, config) as session:
        return {s.mart: _run_suite(session, s, engine, config, _utc(reference_time)) for s in suites}


def validate_mart(
    db_path: str | Path,
    mart: str,
    *,
    config: GateConfig | None = None,
    published_path: str | Path | None = None,
    reference_time: datetime | None = None,
) -> SuiteResult:
    """Run the suite of one mart (the unit a Dagster asset check gates)."""
    return validate_all(
        db_path, config=config, published_path=published_path, reference_time=reference_time, marts=[mart]
    )[mart]


def _utc(moment: datetime | None) -> datetime | None:
    # a naive reference time is taken as UTC; the check never reads the wall clock itself
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@contextmanager
def _session(db_path: str | Path, published_path: str | Path | None, config: GateConfig) -> Iterator[_Session]:
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"working DuckDB file not found: {db_path}")
    con = duckdb.connect(str(db_path), read_only=True)
    attached = False
    try:
        catalog: dict[str, dict[str, str]] = {}
        for schema, table, column, data_type in con.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall():
            catalog.setdefault(f"{schema}.{table}", {})[column] = data_type
        published: dict[str, str] = {}
        note = None
        if published_path is None:
            note = "no published version given"
        elif not Path(published_path).is_file():
            note = f"no published version at {published_path}"
        elif Path(published_path).resolve() == Path(db_path).resolve():
            # DuckDB cannot attach a file to itself; the "published" marts are then the working ones
            published = {rel.split(".", 1)[1]: rel for rel in catalog if rel.startswith(f"{config.marts_schema}.")}
        else:
            con.execute(f"attach '{_sql_string(str(published_path))}' as {PUBLISHED} (read_only)")
            attached = True
            # the serving file keeps each mart in its default schema; a working file keeps them in `marts`
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = ? order by "
                "schema_name <> 'main', schema_name <> ?",
                [PUBLISHED, config.marts_schema],
            ).fetchall():
                published.setdefault(table, f"{PUBLISHED}.{schema}.{table}")
        yield _Session(con, catalog, published, note)
    finally:
        if attached:
            con.execute(f"detach {PUBLISHED}")
        con.close()


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _run_suite(
    session: _Session, suite: MartSuite, engine: GxEngine, config: GateConfig, reference_time: datetime | None
) -> SuiteResult:
    started = time.perf_counter()
    relation = f"{config.marts_schema}.{suite.mart}"
    columns = session.catalog.get(relation)
    if columns is None:
        return SuiteResult(
            suite.mart, suite.name, False, None, (), time.perf_counter() - started, f"{relation} not found"
        )
    frame, outcomes = _read_and_check_columns(session, suite, relation, columns, engine, config)
    ctx = QueryContext(
        mart=suite.mart,
        config=config,
        reference_time=reference_time,
        catalog=session.catalog,
        published_relation=session.published.get(suite.mart),
    )
    outcomes += [_run_rows_check(session, check, ctx, engine, config) for check in suite.rows_checks]
    return SuiteResult(
        mart=suite.mart,
        suite=suite.name,
        success=all(o.success for o in outcomes),
        row_count=len(frame),
        outcomes=tuple(outcomes),
        duration_s=round(time.perf_counter() - started, 3),
    )


def _read_and_check_columns(
    session: _Session,
    suite: MartSuite,
    relation: str,
    columns: Mapping[str, str],
    engine: GxEngine,
    config: GateConfig,
) -> tuple[pd.DataFrame, list[ExpectationOutcome]]:
    outcomes: list[ExpectationOutcome] = []
    runnable: list[ColumnCheck] = []
    for check in suite.column_checks:
        missing = [c for c in check.columns if c not in columns]
        if missing:
            outcomes.append(_failed(check.id, check.expectation, check.description, f"missing columns {missing}"))
        else:
            runnable.append(check)
    keys = [k for k in suite.key_columns if k in columns]
    needed = list(dict.fromkeys([*keys, *(c for check in runnable for c in check.columns)]))
    select = ", ".join(f'"{c}"' for c in needed) or "1 as _row"
    frame = session.con.execute(f"select {select} from {relation}").df()
    verdicts = engine.validate(frame, runnable, keys, config.sample_size) if runnable else {}
    for check in runnable:
        v = verdicts[check.id]
        res = v.result
        outcomes.append(
            ExpectationOutcome(
                id=check.id,
                expectation=v.expectation,
                description=check.description,
                success=v.success,
                unexpected_count=res.get("unexpected_count"),
                element_count=res.get("element_count", len(frame)),
                sample=_dedupe([_plain_row(r) for r in res.get("partial_unexpected_index_list") or []]),
                observed_value=_plain(res.get("observed_value")),
                note=v.exception,
            )
        )
    order = {cid: i for i, cid in enumerate(suite.check_ids)}
    outcomes.sort(key=lambda o: order[o.id])
    return frame, outcomes


def _run_rows_check(
    session: _Session, check: RowsCheck, ctx: QueryContext, engine: GxEngine, config: GateConfig
) -> ExpectationOutcome:
    expectation = "expect_table_row_count_to_equal"
    missing = [r for r in check.requires if not ctx.has(r)]
    if missing:
        return _failed(check.id, expectation, check.description, f"missing relations {missing}")
    query = check.query(ctx)
    if isinstance(query, Skip):
        note = query.note
        if check.id == "active_accounts_volume" and session.published_note:
            note = f"{note}: {session.published_note}"
        return ExpectationOutcome(check.id, expectation, check.description, True, 0, None, note=note, skipped=True)
    try:
        cursor = session.con.execute(query.sql, query.params)
        names = [d[0] for d in cursor.description]
        head = cursor.fetchmany(config.sample_size)
        total = len(head)
        if total == config.sample_size:  # there may be more: count them (only on failure)
            total = session.con.execute(f"select count(*) from ({query.sql})", query.params).fetchone()[0]
    except duckdb.Error as exc:
        return _failed(check.id, expectation, check.description, f"{type(exc).__name__}: {exc}"[:500])
    unexpected = pd.DataFrame(head, columns=names)
    verdict = engine.expect_no_rows(check.id, unexpected)
    return ExpectationOutcome(
        id=check.id,
        expectation=verdict.expectation,
        description=check.description,
        success=verdict.success,
        unexpected_count=total,
        element_count=None,
        sample=tuple(_plain_row(dict(zip(names, row, strict=True))) for row in head),
        observed_value=total,
        note=verdict.exception,
    )


def _failed(check_id: str, expectation: str, description: str, note: str) -> ExpectationOutcome:
    return ExpectationOutcome(check_id, _snake(expectation), description, False, None, None, note=note)


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("_")


def _dedupe(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    seen, out = set(), []
    for row in rows:
        key = tuple(sorted((k, repr(v)) for k, v in row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return tuple(out)


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in row.items()}


def _plain(value: Any) -> Any:
    """JSON-friendly values for metadata and the report: dates as ISO text, numbers as Python numbers."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == datetime.min.time():
            return value.date().isoformat()  # a DATE column read through pandas
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
