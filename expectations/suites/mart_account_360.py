"""mart_account_360: one wide row per account for BI; exactly the accounts of dim_accounts."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _same_accounts_as_dim(ctx: QueryContext) -> str:
    return f"""
        select coalesce(wide.account_id, dim.account_id) as account_id,
               wide.account_id is not null as in_mart_account_360, dim.account_id is not null as in_dim_accounts
        from {ctx.rel()} as wide
        full outer join {ctx.rel("dim_accounts")} as dim on dim.account_id = wide.account_id
        where wide.account_id is null or dim.account_id is null
        order by 1
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="mart_account_360",
        key_columns=("account_id",),
        column_checks=(
            c.grain("account_id"),
            *c.not_null("account_id", "health_status", "current_arr"),
            c.accepted("health_status", ["prospect", "at_risk", "healthy"]),
            c.accepted("tier", ["A", "B", "C"]),
            *c.non_negative("current_arr"),
            *c.share("role_coverage_ratio"),
        ),
        rows_checks=(
            c.rows(
                "same_accounts_as_dim_accounts",
                "one row for every account in dim_accounts and none other",
                _same_accounts_as_dim,
                requires=(f"{config.marts_schema}.dim_accounts",),
            ),
            c.sources_fresh(),
        ),
    )
