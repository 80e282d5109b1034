"""fct_pipeline_monthly: month x source pipeline; win rates are shares and 'all' is the sum of the sources."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext

COUNTS = ("created_count", "won_count", "lost_count")


def _all_equals_sum_of_sources(ctx: QueryContext) -> str:
    sums = ", ".join(f"sum({col}) as {col}" for col in COUNTS)
    differs = " or ".join(f"total.{col} <> coalesce(parts.{col}, 0)" for col in COUNTS)
    return f"""
        with parts as (
            select month, {sums} from {ctx.rel()} where source <> 'all' group by month
        )
        select total.month, {", ".join(f"total.{col}, parts.{col} as sources_{col}" for col in COUNTS)}
        from {ctx.rel()} as total
        left join parts on parts.month = total.month
        where total.source = 'all' and ({differs})
        order by total.month
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_pipeline_monthly",
        key_columns=("month", "source"),
        column_checks=(
            c.grain("month", "source"),
            *c.not_null("month", "source"),
            c.accepted("source", ["salesforce", "hubspot", "all"]),
            *c.share("win_rate_count", "win_rate_amount"),
            *c.non_negative(*COUNTS),
        ),
        rows_checks=(
            c.rows(
                "all_equals_sum_of_sources",
                "the 'all' row's created, won and lost counts equal the sum over the sources",
                _all_equals_sum_of_sources,
            ),
            c.sources_fresh(),
        ),
    )
