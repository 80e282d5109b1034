"""The code location loads and exposes exactly the expected ingestion assets, checks, job and resources."""

from __future__ import annotations

import dagster as dg

from connectors.hubspot.config import ASSOCIATION_PAIRS, OBJECT_TYPES

SALESFORCE = {"account", "contact", "user", "opportunity", "opportunitylineitem", "opportunitycontactrole",
              "opportunityhistory", "product2", "contract", "task", "event", "datedconversionrate", "currencytype"}
HUBSPOT = {*OBJECT_TYPES, "owners", "pipelines", "pipeline_stages", "properties",
           *(f"assoc_{f}__{t}" for f, t in ASSOCIATION_PAIRS)}
EXPECTED = {dg.AssetKey(["salesforce", t]) for t in SALESFORCE} | {dg.AssetKey(["hubspot", t]) for t in HUBSPOT}


def load() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def ingestion_specs(defs: dg.Definitions) -> list[dg.AssetSpec]:
    """The ingestion assets (the code location also holds the dbt models, tested in test_dbt_assets.py)."""
    return [s for s in defs.resolve_all_asset_specs() if s.group_name in ("salesforce", "hubspot")]


def test_asset_keys_are_exactly_the_raw_tables() -> None:
    defs = load()
    dg.Definitions.validate_loadable(defs)
    assert {s.key for s in ingestion_specs(defs)} == EXPECTED
    assert {k for k in defs.resolve_all_asset_keys() if k.path[0] in ("salesforce", "hubspot")} == EXPECTED
    assert dg.AssetKey(["hubspot", "assoc_companies__contacts"]) in EXPECTED
    assert len(EXPECTED) == 13 + 10 + 4 + 19


def test_specs_groups_kinds_and_pools() -> None:
    defs = load()
    for spec in ingestion_specs(defs):
        source = spec.key.path[0]
        assert spec.group_name == source
        assert spec.kinds == {source, "duckdb"}
        assert spec.description
    for name in ("salesforce_raw", "hubspot_raw"):
        assets_def = next(a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.node_def.name == name)
        assert assets_def.can_subset
        assert assets_def.node_def.pool == "duckdb"
        policy = assets_def.node_def.retry_policy
        assert policy.max_retries == 2 and policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter is not None


def test_checks_job_and_resources() -> None:
    defs = load()
    check_keys = {key for c in defs.asset_checks for key in c.check_keys}
    pk = {k.asset_key for k in check_keys if k.name == "primary_key_unique"}
    assert pk == EXPECTED
    completeness = {k.asset_key for k in check_keys if k.name == "completeness"}
    assert {dg.AssetKey(["salesforce", "account"]), dg.AssetKey(["hubspot", "companies"]),
            dg.AssetKey(["hubspot", "owners"])} <= completeness
    for c in defs.asset_checks:
        for spec in c.check_specs:
            if spec.asset_key in EXPECTED:  # raw tables: primary keys block, completeness only warns
                assert spec.blocking == (spec.name == "primary_key_unique")
            else:  # marts: the Great Expectations gate blocks publishing
                assert spec.name == "gx_suite" and spec.blocking
    job = defs.resolve_job_def("crm_ingest_job")
    assert set(job.asset_layer.selected_asset_keys) == EXPECTED
    assert {"warehouse", "salesforce", "hubspot"} <= set(defs.resources)


def test_resources_read_secrets_as_env_vars_only(monkeypatch) -> None:
    from orchestration.defs.resources import build_resources

    monkeypatch.setenv("SALESFORCE_PASSWORD", "pw-SECRET-not-hardcoded")
    monkeypatch.delenv("SALESFORCE_SESSION_ID", raising=False)
    resources = build_resources()
    assert resources["salesforce"].password == dg.EnvVar("SALESFORCE_PASSWORD")
    assert resources["salesforce"].session_id is None
