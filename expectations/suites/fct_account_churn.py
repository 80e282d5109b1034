"""fct_account_churn: one row per churn event; each event is a churn movement in the ARR fact, with its amount."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _events_match_arr_fact(ctx: QueryContext) -> str:
    return f"""
        with fact as (
            select account_id, month, -churned_arr as churned_arr
            from {ctx.rel("fct_account_arr_monthly")}
            where movement = 'churn'
        )
        select coalesce(churn.account_id, fact.account_id) as account_id,
               coalesce(churn.churn_month, fact.month) as churn_month,
               churn.churned_arr, fact.churned_arr as arr_fact_churned_arr
        from {ctx.rel()} as churn
        full outer join fact on fact.account_id = churn.account_id and fact.month = churn.churn_month
        where churn.account_id is null or fact.account_id is null or churn.churned_arr <> fact.churned_arr
        order by 1, 2
    """


def _reactivated_after_churn(ctx: QueryContext) -> str:
    return f"""
        select account_id, churn_month, reactivated_month
        from {ctx.rel()}
        where reactivated_month <= churn_month
        order by account_id, churn_month
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_account_churn",
        key_columns=("account_id", "churn_month"),
        column_checks=(
            c.grain("account_id", "churn_month"),
            *c.not_null("account_id", "churn_month", "churned_arr"),
            c.between("churned_arr_positive", "churned_arr", 0, strict_min=True),
            *c.non_negative("tenure_months"),
        ),
        rows_checks=(
            c.rows("reactivated_after_churn", "a reactivation comes after its churn", _reactivated_after_churn),
            c.rows(
                "events_match_arr_fact",
                "each churn event is a 'churn' row of fct_account_arr_monthly with the same amount, and vice versa",
                _events_match_arr_fact,
                requires=(f"{config.marts_schema}.fct_account_arr_monthly",),
            ),
            c.known_accounts(config.marts_schema),
            c.sources_fresh(),
        ),
    )
