"""CRM ingestion: Salesforce and HubSpot raw tables as Dagster assets, their checks and ``crm_ingest_job``.

``salesforce.py`` / ``hubspot.py`` wrap the plain-Python connectors (one subsettable multi-asset per source),
``checks.py`` holds the per-table asset checks, ``metadata.py`` the materialization metadata, ``jobs.py`` the job.
"""
