"""Mart name -> suite, kept as code. Every mart in dbt_project/models/marts has exactly one suite here."""

from __future__ import annotations

from collections.abc import Callable

from expectations.config import GateConfig
from expectations.spec import MartSuite
from expectations.suites import (
    dim_accounts,
    fct_account_arr_monthly,
    fct_account_churn,
    fct_account_engagement_monthly,
    fct_account_stakeholder_coverage,
    fct_opportunities,
    fct_pipeline_monthly,
    fct_revenue_retention_monthly,
    mart_account_360,
)

SuiteBuilder = Callable[[GateConfig], MartSuite]

REGISTRY: dict[str, SuiteBuilder] = {
    "dim_accounts": dim_accounts.build,
    "fct_account_arr_monthly": fct_account_arr_monthly.build,
    "fct_revenue_retention_monthly": fct_revenue_retention_monthly.build,
    "fct_account_churn": fct_account_churn.build,
    "fct_account_engagement_monthly": fct_account_engagement_monthly.build,
    "fct_account_stakeholder_coverage": fct_account_stakeholder_coverage.build,
    "fct_opportunities": fct_opportunities.build,
    "fct_pipeline_monthly": fct_pipeline_monthly.build,
    "mart_account_360": mart_account_360.build,
}

MARTS: tuple[str, ...] = tuple(REGISTRY)


def suite_for(mart: str, config: GateConfig | None = None) -> MartSuite:
    """The suite of ``mart`` under ``config``; unknown marts raise, so a new mart cannot slip past the gate."""
    try:
        builder = REGISTRY[mart]
    except KeyError:
        raise KeyError(f"no expectation suite for mart {mart!r}; add one to expectations.registry") from None
    return builder(config or GateConfig())
