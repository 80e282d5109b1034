"""``nightly_refresh_job``: ingest -> dbt build -> checks -> publish, in one run.

One run means every blocking check (raw primary keys, dbt tests, Great Expectations suites) gates the steps after
it, and the ``duckdb`` pool keeps the writers (ingestion, dbt) and the publish step's reader apart.
"""

import dagster as dg

from orchestration.defs.dbt.jobs import DBT_ASSETS
from orchestration.defs.ingestion.jobs import INGESTION_ASSETS
from orchestration.defs.publish.assets import published_marts
from orchestration.defs.resources import WRITER_TAG

nightly_refresh_job = dg.define_asset_job(
    "nightly_refresh_job",
    selection=INGESTION_ASSETS | DBT_ASSETS | dg.AssetSelection.assets(published_marts),
    description="Sync Salesforce and HubSpot, dbt build the marts, run the quality gate, publish to the serving file.",
    tags={"dagster/max_retries": 1, **WRITER_TAG},
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[nightly_refresh_job])
