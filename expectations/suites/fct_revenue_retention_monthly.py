"""fct_revenue_retention_monthly: month x segment NRR/GRR in range; the 'all' segment ties to the ARR fact."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _all_segment_matches_arr_fact(ctx: QueryContext) -> str:
    return f"""
        with fact as (
            select month, sum(arr) as arr, count(*) filter (where arr > 0) as active_accounts
            from {ctx.rel("fct_account_arr_monthly")}
            group by month
        )
        select retention.month, retention.arr, fact.arr as arr_fact_total,
               retention.active_accounts, fact.active_accounts as arr_fact_active_accounts
        from {ctx.rel()} as retention
        left join fact on fact.month = retention.month
        where retention.segment_type = 'all'
          and (retention.arr <> coalesce(fact.arr, 0) or retention.active_accounts <> coalesce(fact.active_accounts, 0))
        order by retention.month
    """


def _retained_within_cohort(ctx: QueryContext) -> str:
    return f"""
        select month, segment_type, segment, cohort_accounts, retained_accounts, churned_accounts
        from {ctx.rel()}
        where retained_accounts > cohort_accounts or churned_accounts > cohort_accounts
           or retained_accounts < 0 or churned_accounts < 0
        order by month, segment_type, segment
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_revenue_retention_monthly",
        key_columns=("month", "segment_type", "segment"),
        column_checks=(
            c.grain("month", "segment_type", "segment"),
            *c.not_null("month", "segment_type", "segment"),
            c.accepted("segment_type", ["all", "tier"]),
            c.accepted("segment", ["all", "A", "B", "C"]),
            c.between("grr_between_0_and_1", "grr", 0, 1),
            c.between("nrr_within_bound", "nrr", 0, config.max_nrr),
            *c.share("logo_churn_rate"),
            *c.non_negative("arr", "starting_arr", "active_accounts"),
        ),
        rows_checks=(
            c.rows(
                "retained_within_cohort",
                "retained and churned accounts are between 0 and the cohort size",
                _retained_within_cohort,
            ),
            c.rows(
                "all_segment_matches_arr_fact",
                "the 'all' segment's arr and active_accounts equal fct_account_arr_monthly's month totals",
                _all_segment_matches_arr_fact,
                requires=(f"{config.marts_schema}.fct_account_arr_monthly",),
            ),
            c.sources_fresh(),
        ),
    )
