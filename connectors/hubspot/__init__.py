"""HubSpot connector: CRM v3/v4 objects, associations, owners, pipelines and property definitions -> raw_hubspot.

Public entry points: :func:`connectors.hubspot.sync.sync_hubspot` and :func:`connectors.hubspot.sync.sync_object`.
This package never imports dagster.
"""
