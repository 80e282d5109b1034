"""Builders for the expectations every suite uses, so each suite module reads as a list of rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from expectations.spec import ColumnCheck, Query, QueryContext, RowsCheck, Skip

# the modification stamp per raw table, first match wins: Salesforce SystemModstamp (changes by users and automation),
# HubSpot hs_lastmodifieddate / lastmodifieddate (contacts) / updatedAt. `_loaded_at` is deliberately not used: it is
# the loader's wall clock, so re-landing stale data would look fresh, and the demo runs on simulated time.
SOURCE_STAMP_COLUMNS = ("SystemModstamp", "hs_lastmodifieddate", "lastmodifieddate", "updated_at")


def grain(*columns: str) -> ColumnCheck:
    if len(columns) == 1:
        return ColumnCheck(
            "grain_unique", "ExpectColumnValuesToBeUnique", {"column": columns[0]}, f"one row per {columns[0]}"
        )
    return ColumnCheck(
        "grain_unique",
        "ExpectCompoundColumnsToBeUnique",
        {"column_list": list(columns)},
        "one row per " + " x ".join(columns),
    )


def not_null(*columns: str) -> list[ColumnCheck]:
    return [
        ColumnCheck(f"{c}_not_null", "ExpectColumnValuesToNotBeNull", {"column": c}, f"{c} is never null")
        for c in columns
    ]


def unique(column: str) -> ColumnCheck:
    return ColumnCheck(
        f"{column}_unique", "ExpectColumnValuesToBeUnique", {"column": column}, f"{column} is unique where set"
    )


def between(
    check_id: str,
    column: str,
    min_value: float | None = None,
    max_value: float | None = None,
    *,
    strict_min: bool = False,
) -> ColumnCheck:
    kwargs: dict[str, Any] = {"column": column, "min_value": min_value, "max_value": max_value}
    if strict_min:
        kwargs["strict_min"] = True
    lo = "" if min_value is None else f"{min_value} {'<' if strict_min else '<='} "
    hi = "" if max_value is None else f" <= {max_value}"
    return ColumnCheck(check_id, "ExpectColumnValuesToBeBetween", kwargs, f"{lo}{column}{hi} (nulls ignored)")


def non_negative(*columns: str) -> list[ColumnCheck]:
    return [between(f"{c}_non_negative", c, 0) for c in columns]


def share(*columns: str) -> list[ColumnCheck]:
    return [between(f"{c}_between_0_and_1", c, 0, 1) for c in columns]


def accepted(column: str, values: Sequence[str]) -> ColumnCheck:
    return ColumnCheck(
        f"{column}_accepted_values",
        "ExpectColumnValuesToBeInSet",
        {"column": column, "value_set": list(values)},
        f"{column} in {', '.join(values)}",
    )


def rows(
    check_id: str, description: str, sql: Callable[[QueryContext], str], requires: tuple[str, ...] = ()
) -> RowsCheck:
    """A reconciliation written as SQL that lists the unexpected rows (keys and the values that disagree)."""
    return RowsCheck(check_id, description, lambda ctx: Query(sql(ctx)), requires)


def known_accounts(marts_schema: str) -> RowsCheck:
    """Every account_id of a fact is an account of dim_accounts (an orphan would vanish from account views)."""

    def sql(ctx: QueryContext) -> str:
        return f"""
            select distinct fact.account_id
            from {ctx.rel()} as fact
            left join {ctx.rel("dim_accounts")} as dim on dim.account_id = fact.account_id
            where fact.account_id is not null and dim.account_id is null
            order by 1
        """

    return rows("account_in_dim_accounts", "every account_id is an account of dim_accounts", sql,
                requires=(f"{marts_schema}.dim_accounts",))


def sources_fresh() -> RowsCheck:
    return RowsCheck(
        "sources_fresh",
        "the newest source record (max modification stamp over the raw tables) is no older than max_source_age "
        "at the reference time",
        _freshness_query,
    )


def _freshness_query(ctx: QueryContext) -> Query | Skip:
    if ctx.reference_time is None:
        return Skip("no reference time given; freshness not judged (the caller passes the pipeline's clock)")
    parts = []
    for relation, columns in sorted(ctx.catalog.items()):
        if relation.split(".", 1)[0] not in ctx.config.source_schemas:
            continue
        stamp = next((c for c in SOURCE_STAMP_COLUMNS if "TIMESTAMP" in columns.get(c, "").upper()), None)
        if stamp:
            parts.append(f'select max("{stamp}") as stamp from {relation}')
    cutoff = ctx.reference_time - ctx.config.max_source_age
    if not parts:
        # no evidence of fresh sources is a failure, not a pass
        return Query("select 'no raw table with a modification stamp' as problem")
    return Query(
        f"select max(stamp) as newest_source_record, ?::timestamptz as reference_time "
        f"from ({' union all '.join(parts)}) as stamps "
        f"having max(stamp) is null or max(stamp) < ?::timestamptz",
        [ctx.reference_time, cutoff],
    )


def active_accounts_volume(description: str, active_count_sql: Callable[[str], str]) -> RowsCheck:
    """Active accounts now vs in the last published version; ``active_count_sql(relation)`` returns one count ``n``."""

    def query(ctx: QueryContext) -> Query | Skip:
        if ctx.published_relation is None:
            return Skip("no published version to compare with (first publish, or the mart is new)")
        allowed = 1 - ctx.config.max_active_accounts_drop
        return Query(
            f"with cur as ({active_count_sql(ctx.rel())}), pub as ({active_count_sql(ctx.published_relation)}) "
            "select pub.n as published_active, cur.n as current_active, "
            "round(1 - cur.n / pub.n, 4) as drop_share from cur, pub "
            "where pub.n > 0 and cur.n < pub.n * ?",
            [allowed],
        )

    return RowsCheck("active_accounts_volume", description, query)
