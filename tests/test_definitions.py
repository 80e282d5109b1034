"""The Dagster code location that workspace.yaml names loads."""

import importlib
from pathlib import Path

import dagster as dg
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_workspace_points_at_orchestration_definitions() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    modules = [entry["python_module"]["module_name"] for entry in workspace["load_from"]]
    assert modules == ["orchestration.definitions"]


def test_definitions_load_and_validate() -> None:
    module = importlib.import_module("orchestration.definitions")
    defs = module.defs() if callable(module.defs) else module.defs
    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)
    assert "warehouse" in defs.resources


def test_workspace_location_has_the_nightly_job_schedule_and_sensor() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = importlib.import_module(workspace["load_from"][0]["python_module"]["module_name"])
    defs = module.defs()
    assert defs.resolve_job_def("nightly_refresh_job").name == "nightly_refresh_job"
    schedule = defs.resolve_schedule_def("nightly_refresh_schedule")
    assert schedule.job_name == "nightly_refresh_job"
    assert defs.resolve_sensor_def("run_failure_alert_sensor") is not None
