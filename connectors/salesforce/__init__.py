"""Salesforce -> DuckDB raw layer (``raw_salesforce``) connector.

Modules, one job each:

* :mod:`.config`   ``SalesforceConfig.from_env`` -> auth kwargs for simple-salesforce (secrets redacted).
* :mod:`.client`   ``connect(config)`` -> :class:`~.client.SalesforceClient`: retries with capped, jittered
  backoff, re-login, server time from the ``Date`` header, API quota guard.
* :mod:`.soql`     SOQL builders (window, count, id-only, formula snapshot, backfill).
* :mod:`.extract_rest` / :mod:`.extract_bulk`  pages of records as pyarrow Tables of text keyed by API name.
* :mod:`.replication`  ``getDeleted`` (hard deletes between Id reconciliations), validated.
* :mod:`.sync`     ``sync_object`` / ``sync_salesforce``: windowed incremental, deletes, schema drift, formula
  snapshots, landing through :class:`connectors.warehouse.raw.RawWarehouse`.
* :mod:`.errors`   the connector's exceptions.

This package never imports dagster.
"""
