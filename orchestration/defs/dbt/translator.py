"""How dbt nodes become Dagster asset specs.

Keys stay dagster-dbt's defaults: a source is ``[source_name, table]``, so ``source('salesforce', 'account')``
is the ingestion asset ``["salesforce", "account"]`` and ``source('hubspot', 'companies')`` is
``["hubspot", "companies"]``; a model is ``[<configured schema>, <name>]`` (e.g. ``["staging",
"stg_salesforce__accounts"]``). Only the group (the layer folder under ``models/``) and the kinds change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

KINDS = {"dbt", "duckdb"}
MODELS_GROUP = "dbt_models"  # a model directly under models/, outside any layer folder
OTHER_GROUPS = {"seed": "seeds", "snapshot": "snapshots"}


def layer_group(props: Mapping[str, Any]) -> str:
    """``models/<layer>/...`` -> ``<layer>`` (staging, intermediate, marts, any new one); seeds -> ``seeds``."""
    resource_type = props["resource_type"]
    if resource_type in OTHER_GROUPS:
        return OTHER_GROUPS[resource_type]
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else MODELS_GROUP  # fqn = [project, <folders>..., name]


class AccountDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # dbt data tests -> asset checks (error severity blocks downstream assets; warn does not).
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":  # owned by the ingestion assets; only the key matters here
            return spec
        return spec.replace_attributes(group_name=layer_group(props), kinds=KINDS)
