"""Tests of the Dagster ingestion assets, checks and the ``acctwh ingest`` command."""
