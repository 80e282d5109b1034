"""The registry covers every mart, ids are readable and unique, and importing it does not import GX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from expectations import MARTS, GateConfig, suite_for
from expectations.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def test_every_dbt_mart_has_a_suite():
    marts = {p.stem for p in (ROOT / "dbt_project" / "models" / "marts").glob("*.sql")}
    assert set(REGISTRY) == marts


@pytest.mark.parametrize("mart", MARTS)
def test_suite_shape(mart):
    suite = suite_for(mart)
    assert suite.mart == mart and suite.name == f"gx_{mart}"
    ids = suite.check_ids
    assert "grain_unique" in ids and "sources_fresh" in ids
    assert any(i.endswith("_not_null") for i in ids)
    assert all(i.replace("_", "").isalnum() and i.islower() for i in ids)


def test_required_rules_are_present():
    arr = suite_for("fct_account_arr_monthly").check_ids
    for rule in (
        "arr_non_negative",
        "movement_accepted_values",
        "movement_identity",
        "as_of_arr_matches_contract_lines",
        "active_accounts_volume",
    ):
        assert rule in arr
    assert {"grr_between_0_and_1", "nrr_within_bound"} <= set(suite_for("fct_revenue_retention_monthly").check_ids)
    assert {"tier_accepted_values", "current_arr_non_negative", "active_accounts_volume"} <= set(
        suite_for("dim_accounts").check_ids
    )
    assert "counts_match_staging" in suite_for("fct_opportunities").check_ids


def test_config_feeds_the_suites():
    check = next(
        c
        for c in suite_for("fct_revenue_retention_monthly", GateConfig(max_nrr=2.5)).column_checks
        if c.id == "nrr_within_bound"
    )
    assert check.kwargs["max_value"] == 2.5
    with pytest.raises(ValueError):
        GateConfig(max_active_accounts_drop=1.5)


def test_unknown_mart_is_refused():
    with pytest.raises(KeyError, match="no expectation suite"):
        suite_for("fct_new_thing")


def test_gx_suite_builds_from_the_specs():
    from expectations.gx_engine import gx_suite

    suite = gx_suite(suite_for("dim_accounts"))
    assert suite.name == "gx_dim_accounts"
    assert {e.meta["check"] for e in suite.expectations} >= {"grain_unique", "tier_accepted_values"}


def test_registry_import_does_not_load_great_expectations():
    code = "import sys, expectations.registry; assert 'great_expectations' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
