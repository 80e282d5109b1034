"""``crm_ingest_job``: every ingestion asset (and its checks). The nightly schedule comes in a later step."""

import dagster as dg

from orchestration.defs.resources import WRITER_TAG

INGESTION_ASSETS = dg.AssetSelection.groups("salesforce", "hubspot")

crm_ingest_job = dg.define_asset_job(
    "crm_ingest_job",
    selection=INGESTION_ASSETS,
    description="Sync Salesforce and HubSpot into the raw layer of the working DuckDB, then check the raw tables.",
    tags=WRITER_TAG,
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[crm_ingest_job])
