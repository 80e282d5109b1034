"""The dbt assets: keys that meet the ingestion assets, layer groups, tests as checks, jobs, and a real build.

Nothing here names a model: the expectations are derived from the manifest, so models can be added freely. The
end-to-end test lands the ``tiny`` simulator dataset and builds the staging layer only (plus seeds), which
keeps it fast and independent of intermediate/marts work in progress.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject

from connectors.warehouse.serving import publish
from connectors.warehouse.versions import current_version, list_versions, parquet_version
from orchestration.defs.dbt.assets import DbtBuildConfig, account_dbt_models, build_args
from orchestration.defs.dbt.project import fingerprint, fingerprint_path, manifest_is_stale
from orchestration.defs.dbt.resources import dbt_resource
from orchestration.defs.resources import WarehouseResource

from .conftest import AS_OF, all_event_text

SECRET_VAR = "ACCTWH_PERSON_KEY_SECRET"
TEST_SECRET = "orchestration-test-person-key-0123456789"
INGESTION_GROUPS = ("salesforce", "hubspot")


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs as load

    return load()


@pytest.fixture(scope="module")
def manifest() -> Mapping[str, Any]:
    """The manifest the assets were built from (the file may be re-parsed meanwhile)."""
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

    return get_manifest_and_translator_from_dbt_assets([account_dbt_models])[0]


def _built_nodes(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]


def _ingestion_keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    return {s.key for s in defs.resolve_all_asset_specs() if s.group_name in INGESTION_GROUPS}


# -- the definitions ------------------------------------------------------------------------------------------
def test_definitions_load_with_the_dbt_assets(defs: dg.Definitions, manifest: Mapping[str, Any]) -> None:
    dg.Definitions.validate_loadable(defs)
    assert account_dbt_models.node_def.pool == "duckdb"  # one DuckDB writer at a time, shared with ingestion
    assert isinstance(defs.resources["dbt"], DbtCliResource)
    dbt_keys = set(account_dbt_models.keys)
    assert len(dbt_keys) == len(_built_nodes(manifest)) > 0
    assert dbt_keys <= set(defs.resolve_all_asset_keys())


def test_jobs(defs: dg.Definitions) -> None:
    dbt_keys = set(account_dbt_models.keys)
    ingestion = _ingestion_keys(defs)
    assert set(defs.resolve_job_def("account_marts_job").asset_layer.selected_asset_keys) == dbt_keys
    nightly = set(defs.resolve_job_def("nightly_refresh_job").asset_layer.selected_asset_keys)
    assert nightly == dbt_keys | ingestion | {dg.AssetKey("published_marts")}
    assert set(defs.resolve_job_def("crm_ingest_job").asset_layer.selected_asset_keys) == ingestion


def test_every_source_is_an_ingestion_asset(defs: dg.Definitions, manifest: Mapping[str, Any]) -> None:
    ingestion = _ingestion_keys(defs)
    sources = {dg.AssetKey([s["source_name"], s["name"]]) for s in manifest["sources"].values()}
    assert sources, "the dbt project declares no sources"
    assert sources <= ingestion, f"dbt sources with no ingestion asset: {sorted(sources - ingestion)}"
    # ... and that is what the dbt assets depend on outside themselves
    upstream = {dep.asset_key for spec in account_dbt_models.specs for dep in spec.deps}
    assert upstream - set(account_dbt_models.keys) <= ingestion
    assert dg.AssetKey(["salesforce", "account"]) in upstream
    assert dg.AssetKey(["hubspot", "companies"]) in upstream


def test_model_keys_groups_and_kinds(manifest: Mapping[str, Any]) -> None:
    specs = {s.key: s for s in account_dbt_models.specs}
    default = DagsterDbtTranslator()
    for node in _built_nodes(manifest):
        schema = node["config"].get("schema")
        key = dg.AssetKey([schema, node["name"]] if schema else [node["name"]])
        assert key == default.get_asset_key(node), node["unique_id"]  # dbt defaults, untouched
        spec = specs[key]
        layer = node["fqn"][1] if node["resource_type"] == "model" else "seeds"
        assert spec.group_name == layer, node["unique_id"]
        assert spec.kinds == {"dbt", "duckdb"}
    groups = {s.group_name for s in specs.values()}
    assert "staging" in groups and groups <= {"staging", "intermediate", "marts", "seeds", "snapshots"}


def test_dbt_tests_are_asset_checks(manifest: Mapping[str, Any]) -> None:
    checks = {(k.asset_key, k.name) for k in account_dbt_models.check_keys}
    specs = {s.key: s for s in account_dbt_models.specs}
    by_id = {n["unique_id"]: n for n in _built_nodes(manifest)}
    expected = set()
    for test in manifest["nodes"].values():
        parent = by_id.get(test.get("attached_node") or "")
        if test["resource_type"] == "test" and parent is not None:
            expected.add((next(k for k, s in specs.items() if k.path[-1] == parent["name"]), test["name"]))
    assert expected, "no dbt data tests attached to models or seeds"
    assert expected <= checks
    blocking = {spec.key.name: spec.blocking for spec in account_dbt_models.check_specs}
    assert any(blocking.values())  # severity error -> blocking


# -- run configuration ----------------------------------------------------------------------------------------
def test_build_args_pass_vars_only_when_pinned() -> None:
    assert build_args(DbtBuildConfig()) == ["build"]
    assert build_args(DbtBuildConfig(as_of_date="2025-06-30")) == ["build", "--vars", '{"as_of_date": "2025-06-30"}']
    with pytest.raises(dg.Failure, match="YYYY-MM-DD"):
        build_args(DbtBuildConfig(as_of_date="30/06/2025"))


def test_missing_secret_fails_before_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_VAR, raising=False)
    result = dg.materialize([account_dbt_models], resources=_resources(tmp_path), raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data
    assert SECRET_VAR in failure.user_failure_data.description
    assert not (tmp_path / "working.duckdb").exists()  # dbt never started


def test_manifest_is_stale_when_missing_or_the_project_changed(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: t\nprofile: t\n")
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "m.sql"
    model.write_text("select 1")
    project = DbtProject(project_dir=tmp_path)
    assert manifest_is_stale(project)
    project.manifest_path.parent.mkdir()
    project.manifest_path.write_text("{}")
    assert manifest_is_stale(project)  # no fingerprint: parsed by something else, from unknown files
    fingerprint_path(project).write_text(fingerprint(tmp_path))
    assert not manifest_is_stale(project)
    model.write_text("select 2")
    assert manifest_is_stale(project)
    fingerprint_path(project).write_text(fingerprint(tmp_path))
    model.unlink()
    assert manifest_is_stale(project)


# -- a real build ---------------------------------------------------------------------------------------------
def _publish_killed_between_renames(home: Path) -> str:
    """Two published versions of a scratch mart, the parquet link left on the first (as a kill between install's
    two renames leaves it); returns the version the DuckDB serving file holds."""
    scratch = home / "scratch.duckdb"
    for gen in (1, 2):
        with duckdb.connect(str(scratch)) as con:
            con.execute(f"create schema if not exists marts; create or replace table marts.m as select {gen} as gen")
        publish(scratch, home)
    older, newer = sorted(v.version for v in list_versions(home))
    link = home / "serving" / "parquet"
    link.unlink()
    link.symlink_to(Path("versions") / older / "parquet", target_is_directory=True)
    assert parquet_version(home) == older and current_version(home) == newer
    return newer


def _resources(home: Path) -> dict[str, Any]:
    return {"dbt": dbt_resource(), "warehouse": WarehouseResource(home=str(home))}


def _raw_source(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(schema, table)`` of the one source a staging model selects from, if it has exactly one."""
    parents = node["depends_on"]["nodes"]
    if len(parents) != 1 or not parents[0].startswith("source."):
        return None
    source = manifest["sources"][parents[0]]
    return source["schema"], source["identifier"]


def test_staging_builds_on_a_landed_simulator_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifest: Mapping[str, Any], tiny_dataset: Any
) -> None:
    from connectors.simulator.land import ingest

    path = tmp_path / "working.duckdb"
    ingest(tiny_dataset, path)  # generate("tiny", seed=1, as_of=2025-06-30), landed by the real connectors
    monkeypatch.setenv(SECRET_VAR, TEST_SECRET)
    monkeypatch.delenv("ACCTWH_DUCKDB_PATH", raising=False)
    served = _publish_killed_between_renames(tmp_path)
    instance = dg.DagsterInstance.ephemeral()

    result = dg.materialize(
        [account_dbt_models],
        instance=instance,
        resources=_resources(tmp_path),
        selection=dg.AssetSelection.groups("staging", "seeds"),
        run_config={"ops": {"account_dbt_models": {"config": {"as_of_date": AS_OF.isoformat()}}}},
    )

    assert result.success
    # the earlier crash left Parquet a version behind the DuckDB file: the run re-pointed it first, and said so
    assert parquet_version(tmp_path) == served
    assert any("re-pointed it to " + served in r.user_message for r in instance.all_logs(result.run_id))
    assert "ACCTWH_DUCKDB_PATH" not in os.environ  # restored after the run
    mats = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    staging = [n for n in _built_nodes(manifest) if n["config"].get("schema") == "staging"]
    assert {dg.AssetKey(["staging", n["name"]]) for n in staging} <= set(mats)
    assert all("dagster/column_schema" in mats[k] for k in mats)
    assert all(mats[k]["dagster/row_count"].value >= 0 for k in mats if k.path[0] == "seeds")
    assert result.get_asset_check_evaluations() and all(c.passed for c in result.get_asset_check_evaluations())
    assert TEST_SECRET not in all_event_text(result)

    # Staging renames and casts, it does not filter: a one-source staging view has its raw table's rows.
    compared = 0
    with duckdb.connect(str(path), read_only=True) as conn:
        for node in staging:
            (rows,) = conn.execute(f'SELECT count(*) FROM staging."{node["name"]}"').fetchone()
            raw = _raw_source(manifest, node)
            if raw is not None:
                (raw_rows,) = conn.execute(f'SELECT count(*) FROM {raw[0]}."{raw[1]}"').fetchone()
                assert rows == raw_rows, node["name"]
                compared += raw_rows > 0
    assert compared >= 10
