"""Dagster definitions, one module per concern (resources, ingestion, dbt, checks, jobs, schedules)."""
