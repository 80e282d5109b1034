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
