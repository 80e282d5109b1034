"""fct_opportunities: one row per opportunity or (unmirrored) deal; counts reconcile with the staged sources."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _counts_match_staging(ctx: QueryContext) -> str:
    # live staged records per source, minus HubSpot deals mirrored from Salesforce (counted once, from Salesforce);
    # a CRM that is not connected has no staging view and counts zero
    sf = "staging.stg_salesforce__opportunities"
    hs = "staging.stg_hubspot__deals"
    mirrors = "intermediate.int_opportunities"
    sf_count = f"(select count(*) from {sf} where not is_deleted)" if ctx.has(sf) else "0"
    hs_count = f"(select count(*) from {hs} where not is_deleted and not is_archived)" if ctx.has(hs) else "0"
    mirror_count = (
        f"(select count(*) from {mirrors} where source = 'hubspot' and is_mirror)" if ctx.has(mirrors) else "0"
    )
    return f"""
        with staged as (
            select 'salesforce' as source, {sf_count} as staged_rows, 0 as mirrored_rows
            union all
            select 'hubspot', {hs_count}, {mirror_count}
        ),
        mart as (
            select source, count(*) as mart_rows from {ctx.rel()} group by source
        )
        select coalesce(staged.source, mart.source) as source, coalesce(mart.mart_rows, 0) as mart_rows,
               staged.staged_rows, staged.mirrored_rows
        from staged
        full outer join mart on mart.source = staged.source
        where coalesce(mart.mart_rows, 0) <> coalesce(staged.staged_rows - staged.mirrored_rows, 0)
        order by 1
    """


def _won_implies_closed(ctx: QueryContext) -> str:
    return f"""
        select source, opportunity_id, is_won, is_closed
        from {ctx.rel()}
        where is_won and not is_closed
        order by source, opportunity_id
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_opportunities",
        key_columns=("source", "opportunity_id"),
        column_checks=(
            c.grain("source", "opportunity_id"),
            *c.not_null("opportunity_id", "source", "stage", "is_closed", "is_won", "created_date"),
            c.accepted("source", ["salesforce", "hubspot"]),
            c.accepted("opportunity_type", ["new_business", "renewal", "upsell", "cross_sell", "other"]),
        ),
        rows_checks=(
            c.rows("won_implies_closed", "a won opportunity is closed", _won_implies_closed),
            c.rows(
                "counts_match_staging",
                "rows per source equal the live staged opportunities/deals minus mirrored deals",
                _counts_match_staging,
            ),
            c.known_accounts(config.marts_schema),
            c.sources_fresh(),
        ),
    )
