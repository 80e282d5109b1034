"""fct_account_stakeholder_coverage: one row per account; ratios are shares and engaged contacts are contacts."""

from __future__ import annotations

from expectations import checks as c
from expectations.config import GateConfig
from expectations.spec import MartSuite, QueryContext


def _engaged_within_total(ctx: QueryContext) -> str:
    return f"""
        select account_id, contacts_total, contacts_engaged_90d, required_roles_covered, required_roles_total
        from {ctx.rel()}
        where contacts_engaged_90d > contacts_total or required_roles_covered > required_roles_total
        order by account_id
    """


def build(config: GateConfig) -> MartSuite:
    return MartSuite(
        mart="fct_account_stakeholder_coverage",
        key_columns=("account_id",),
        column_checks=(
            c.grain("account_id"),
            *c.not_null("account_id"),
            *c.share("role_coverage_ratio", "meddic_completeness"),
            c.between("roles_covered_between_0_and_8", "roles_covered", 0, 8),
            *c.non_negative("contacts_total", "contacts_engaged_90d"),
        ),
        rows_checks=(
            c.rows(
                "engaged_within_total",
                "engaged contacts <= contacts, covered required roles <= required roles",
                _engaged_within_total,
            ),
            c.known_accounts(config.marts_schema),
            c.sources_fresh(),
        ),
    )
