"""``account_marts_job``: dbt only (the nightly refresh is in ``orchestration/defs/operations/jobs.py``)."""

import dagster as dg

from orchestration.defs.resources import WRITER_TAG

from .assets import account_dbt_models

DBT_ASSETS = dg.AssetSelection.assets(account_dbt_models)

account_marts_job = dg.define_asset_job(
    "account_marts_job",
    selection=DBT_ASSETS,
    description="dbt build on the working DuckDB: staging, intermediate and marts models with their data tests.",
    tags=WRITER_TAG,
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[account_marts_job])
