"""fct_account_engagement_monthly: account x month touches; counts add up by channel and by CRM."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _touches_add_up(ctx: QueryContext) -> str:
    return f"""
        select account_id, month, total_touches,
               email_touches + call_touches + meeting_touches + task_touches + note_touches as by_channel,
               salesforce_touches + hubspot_touches as by_crm
        from {ctx.rel()}
        where total_touches <> email_touches + call_touches + meeting_touches + task_touches + note_touches
           or total_touches <> salesforce_touches + hubspot_touches
        order by account_id, month
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_account_engagement_monthly",
        key_columns=("account_id", "month"),
        column_checks=(
            c.grain("account_id", "month"),
            *c.not_null("account_id", "month", "last_touch_date", "days_since_last_touch", "engagement_score"),
            *c.non_negative("total_touches", "active_stakeholders", "days_since_last_touch", "engagement_score"),
        ),
        rows_checks=(
            c.rows(
                "touches_add_up",
                "total_touches equals the sum over channels and the sum over CRMs",
                _touches_add_up,
            ),
            c.known_accounts(config.marts_schema),
            c.sources_fresh(),
        ),
    )
