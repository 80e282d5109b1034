"""Gate settings: every threshold a suite uses, with the defaults from issue 5, overridable per run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class GateConfig:
    # volume: active accounts may not fall by more than this share against the last published version
    max_active_accounts_drop: float = 0.20
    # freshness: the newest source record must be at most this old at the caller's reference time
    max_source_age: timedelta = timedelta(hours=36)
    # NRR above this is treated as a calculation error, not a great quarter
    max_nrr: float = 3.0
    # ARR reconciliation tolerance per account (the mart rounds to the cent; float sums may differ by one)
    arr_tolerance: float = 0.01
    # failing keys kept per expectation (Dagster metadata and the HTML report show them)
    sample_size: int = 10
    # the dbt as-of date; None reads it from fct_account_stakeholder_coverage.as_of_date (the dbt var, not logic)
    as_of_date: date | None = None
    marts_schema: str = "marts"
    # raw schemas scanned for the newest source modification stamp
    source_schemas: tuple[str, ...] = ("raw_salesforce", "raw_hubspot")

    def __post_init__(self) -> None:
        if not 0 <= self.max_active_accounts_drop <= 1:
            raise ValueError("max_active_accounts_drop must be a share between 0 and 1")
        if self.max_source_age <= timedelta(0):
            raise ValueError("max_source_age must be positive")
        if self.max_nrr <= 0 or self.sample_size < 1 or self.arr_tolerance < 0:
            raise ValueError("max_nrr and sample_size must be positive, arr_tolerance not negative")
