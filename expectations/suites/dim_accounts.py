"""dim_accounts: one row per unified account; tiers, current ARR, and active-account volume."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _current_arr_matches_arr_fact(ctx: QueryContext) -> str:
    # current_arr and is_customer must agree with the ARR fact's as-of month, account by account
    return f"""
        with fact as (
            select account_id, arr from {ctx.rel("fct_account_arr_monthly")} where is_as_of_month
        )
        select coalesce(dim.account_id, fact.account_id) as account_id,
               dim.current_arr, fact.arr as as_of_month_arr, dim.is_customer
        from {ctx.rel()} as dim
        full outer join fact on fact.account_id = dim.account_id
        where coalesce(dim.current_arr, 0) <> coalesce(fact.arr, 0)
           or coalesce(dim.is_customer, false) <> (coalesce(fact.arr, 0) > 0)
        order by 1
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="dim_accounts",
        key_columns=("account_id",),
        column_checks=(
            c.grain("account_id"),
            *c.not_null("account_id", "current_arr", "tier"),
            c.unique("salesforce_account_id"),
            c.unique("hubspot_company_id"),
            *c.non_negative("current_arr"),
            c.accepted("tier", ["A", "B", "C"]),
            c.accepted("match_rule", ["salesforceaccountid", "domain", "salesforce_only", "hubspot_only"]),
            c.accepted("revenue_system", ["salesforce", "hubspot"]),
        ),
        rows_checks=(
            c.rows(
                "current_arr_matches_arr_fact",
                "current_arr and is_customer equal the as-of month of fct_account_arr_monthly per account",
                _current_arr_matches_arr_fact,
                requires=(f"{config.marts_schema}.fct_account_arr_monthly",),
            ),
            c.active_accounts_volume(
                "customers (is_customer) fall by at most max_active_accounts_drop against the published version",
                lambda rel: f"select count(*) as n from {rel} where is_customer",
            ),
            c.sources_fresh(),
        ),
    )
