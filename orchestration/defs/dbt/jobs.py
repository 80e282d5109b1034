"""``account_marts_job`` (dbt only) and ``nightly_refresh_job`` (ingestion, then dbt, in one run).

One run for both means the ingestion checks marked blocking stop dbt when a raw table is bad, and the
``duckdb`` pool keeps the ingestion and dbt steps from writing the file at the same time.
"""

import dagster as dg

from orchestration.defs.ingestion.jobs import INGESTION_ASSETS

from .assets import account_dbt_models

DBT_ASSETS = dg.AssetSelection.assets(account_dbt_models)

account_marts_job = dg.define_asset_job(
    "account_marts_job",
    selection=DBT_ASSETS,
    description="dbt build on the working DuckDB: staging, intermediate and marts models with their data tests.",
)

nightly_refresh_job = dg.define_asset_job(
    "nightly_refresh_job",
    selection=INGESTION_ASSETS | DBT_ASSETS,
    description="Sync Salesforce and HubSpot into the raw layer, check it, then dbt build the marts.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[account_marts_job, nightly_refresh_job])
