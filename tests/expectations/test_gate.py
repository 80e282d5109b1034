"""Each corruption of a clean hand-written warehouse fails exactly the named expectation, with the failing keys."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

from expectations import GateConfig, SuiteResult
from expectations.runner import validate_all, validate_mart
from tests.expectations.warehouse import (
    ACCOUNTS,
    NEWEST_SOURCE_RECORD,
    REFERENCE_TIME,
    build_warehouse,
    publish_copy,
)


def failed(result: SuiteResult) -> set[str]:
    return {o.id for o in result.failed}


def test_clean_warehouse_passes_every_suite(clean_db: Path):
    before = hashlib.sha256(clean_db.read_bytes()).hexdigest()
    results = validate_all(clean_db, reference_time=REFERENCE_TIME)
    assert {m: r.failed for m, r in results.items() if not r.success} == {}
    for r in results.values():
        assert r.row_count and r.duration_s >= 0
    assert results["dim_accounts"].outcome("active_accounts_volume").skipped  # no published version given
    # read-only: validation never changes the working file
    assert hashlib.sha256(clean_db.read_bytes()).hexdigest() == before


def test_negative_arr(tmp_path: Path):
    # an upstream bug that makes ARR negative consistently everywhere: only the range rules can catch it
    db = build_warehouse(tmp_path / "w.duckdb", {**ACCOUNTS, "a2": [600, 600, -300]})
    result = validate_mart(db, "fct_account_arr_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"arr_non_negative"}
    outcome = result.outcome("arr_non_negative")
    assert outcome.unexpected_count == 1 and outcome.element_count == 12
    assert outcome.sample == ({"arr": -300.0, "account_id": "a2", "month": "2026-06-01"},)
    assert outcome.expectation == "expect_column_values_to_be_between"
    assert failed(validate_mart(db, "dim_accounts", reference_time=REFERENCE_TIME)) == {"current_arr_non_negative"}


def test_duplicate_account_month(corrupt):
    db = corrupt(
        "insert into marts.fct_account_arr_monthly "
        "select * from marts.fct_account_arr_monthly where account_id = 'a1' and month = '2026-06-01'"
    )
    result = validate_mart(db, "fct_account_arr_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"grain_unique"}
    outcome = result.outcome("grain_unique")
    assert outcome.unexpected_count == 2  # both copies of the duplicated key
    assert outcome.sample == ({"account_id": "a1", "month": "2026-06-01"},)


def test_broken_movement_identity(corrupt):
    db = corrupt(
        "update marts.fct_account_arr_monthly set expansion_arr = expansion_arr + 100 "
        "where account_id = 'a1' and month = '2026-05-01'"
    )
    result = validate_mart(db, "fct_account_arr_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"movement_identity"}
    outcome = result.outcome("movement_identity")
    assert outcome.unexpected_count == 1 and outcome.observed_value == 1
    assert outcome.sample == (
        {"account_id": "a1", "month": "2026-05-01", "arr": 2400.0, "previous_arr": 1200.0, "bridged_arr": 2500.0},
    )
    assert outcome.expectation == "expect_table_row_count_to_equal"


def test_arr_disagreeing_with_contract_lines(corrupt):
    db = corrupt("update intermediate.int_contract_lines set mrr_usd = mrr_usd * 2 where account_id = 'a5'")
    result = validate_mart(db, "fct_account_arr_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"as_of_arr_matches_contract_lines"}
    assert result.outcome("as_of_arr_matches_contract_lines").sample == (
        {"account_id": "a5", "mart_arr": 2400.0, "contract_lines_arr": 4800.0},
    )


def test_opportunity_lost_between_staging_and_mart(corrupt):
    db = corrupt("delete from marts.fct_opportunities where opportunity_id = 'o2'")
    result = validate_mart(db, "fct_opportunities", reference_time=REFERENCE_TIME)
    assert failed(result) == {"counts_match_staging"}
    assert result.outcome("counts_match_staging").sample == (
        {"source": "salesforce", "mart_rows": 2, "staged_rows": 3, "mirrored_rows": 0},
    )


def test_sixty_percent_of_accounts_gone(tmp_path: Path):
    published = publish_copy(build_warehouse(tmp_path / "before.duckdb"), tmp_path / "serving.duckdb")
    db = build_warehouse(tmp_path / "w.duckdb", {k: ACCOUNTS[k] for k in ("a1", "a2")})
    results = validate_all(db, published_path=published, reference_time=REFERENCE_TIME)
    for mart in ("dim_accounts", "fct_account_arr_monthly"):
        assert failed(results[mart]) == {"active_accounts_volume"}, mart
        assert results[mart].outcome("active_accounts_volume").sample == (
            {"published_active": 5, "current_active": 2, "drop_share": 0.6},
        )
    # the opportunities of the vanished accounts are now orphans, and the fact says which
    assert failed(results["fct_opportunities"]) == {"account_in_dim_accounts"}
    assert {r["account_id"] for r in results["fct_opportunities"].outcome("account_in_dim_accounts").sample} == {
        "a3", "a4", "a5"}
    assert all(r.success for m, r in results.items()
               if m not in ("dim_accounts", "fct_account_arr_monthly", "fct_opportunities"))


def test_volume_drop_within_the_allowed_share_passes(tmp_path: Path):
    published = publish_copy(build_warehouse(tmp_path / "before.duckdb"), tmp_path / "serving.duckdb")
    db = build_warehouse(tmp_path / "w.duckdb", {k: v for k, v in ACCOUNTS.items() if k != "a5"})  # 5 -> 4: 20%
    result = validate_mart(db, "dim_accounts", published_path=published, reference_time=REFERENCE_TIME)
    assert result.success and not result.outcome("active_accounts_volume").skipped
    strict = GateConfig(max_active_accounts_drop=0.1)
    result = validate_mart(db, "dim_accounts", config=strict, published_path=published, reference_time=REFERENCE_TIME)
    assert failed(result) == {"active_accounts_volume"}


def test_volume_without_a_published_version_passes_with_a_note(clean_db: Path, tmp_path: Path):
    for published in (None, tmp_path / "missing.duckdb"):
        outcome = validate_mart(
            clean_db, "dim_accounts", published_path=published, reference_time=REFERENCE_TIME
        ).outcome("active_accounts_volume")
        assert outcome.success and outcome.skipped and "no published version" in outcome.note


def test_stale_sources(clean_db: Path):
    # _loaded_at in the raw tables is "now", yet the newest source record is what counts
    late = NEWEST_SOURCE_RECORD + timedelta(hours=37)
    results = validate_all(clean_db, reference_time=late)
    for result in results.values():
        assert failed(result) == {"sources_fresh"}, result.mart
    outcome = results["fct_account_arr_monthly"].outcome("sources_fresh")
    assert outcome.sample == (
        {"newest_source_record": NEWEST_SOURCE_RECORD.isoformat(), "reference_time": late.isoformat()},
    )
    assert validate_mart(
        clean_db, "fct_opportunities", reference_time=NEWEST_SOURCE_RECORD + timedelta(hours=35)
    ).success
    relaxed = GateConfig(max_source_age=timedelta(hours=48))
    assert validate_mart(clean_db, "fct_opportunities", config=relaxed, reference_time=late).success


def test_freshness_without_a_reference_time_is_not_judged(clean_db: Path):
    outcome = validate_mart(clean_db, "fct_pipeline_monthly").outcome("sources_fresh")
    assert outcome.success and outcome.skipped and "no reference time" in outcome.note


def test_grr_above_one(corrupt):
    db = corrupt(
        "update marts.fct_revenue_retention_monthly set grr = 1.2 where month = '2026-06-01' and segment = 'all'"
    )
    result = validate_mart(db, "fct_revenue_retention_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"grr_between_0_and_1"}
    assert result.outcome("grr_between_0_and_1").sample == (
        {"grr": 1.2, "month": "2026-06-01", "segment_type": "all", "segment": "all"},
    )


def test_nrr_above_the_configured_bound(corrupt):
    db = corrupt("update marts.fct_revenue_retention_monthly set nrr = 2.5 where month = '2026-05-01'")
    assert validate_mart(db, "fct_revenue_retention_monthly", reference_time=REFERENCE_TIME).success
    result = validate_mart(
        db, "fct_revenue_retention_monthly", config=GateConfig(max_nrr=2.0), reference_time=REFERENCE_TIME
    )
    assert failed(result) == {"nrr_within_bound"}
    assert result.outcome("nrr_within_bound").unexpected_count == 2


def test_unknown_tier(corrupt):
    db = corrupt("update marts.dim_accounts set tier = 'D' where account_id = 'a3'")
    result = validate_mart(db, "dim_accounts", reference_time=REFERENCE_TIME)
    assert failed(result) == {"tier_accepted_values"}
    assert result.outcome("tier_accepted_values").sample == ({"tier": "D", "account_id": "a3"},)


def test_unknown_movement(corrupt):
    db = corrupt("update marts.fct_account_arr_monthly set movement = 'upgrade' where movement = 'flat'")
    result = validate_mart(db, "fct_account_arr_monthly", reference_time=REFERENCE_TIME)
    assert failed(result) == {"movement_accepted_values"}
    assert result.outcome("movement_accepted_values").unexpected_count == 3


def test_null_key(corrupt):
    db = corrupt("update marts.fct_pipeline_monthly set month = null where source = 'hubspot' and month = '2026-04-01'")
    result = validate_mart(db, "fct_pipeline_monthly", reference_time=REFERENCE_TIME)
    assert "month_not_null" in failed(result)
    assert result.outcome("month_not_null").sample == ({"month": None, "source": "hubspot"},)


def test_sample_is_capped(corrupt):
    db = corrupt("update marts.fct_account_engagement_monthly set total_touches = 99")
    result = validate_mart(db, "fct_account_engagement_monthly", config=GateConfig(sample_size=3))
    outcome = result.outcome("touches_add_up")
    assert outcome.unexpected_count == 10 and len(outcome.sample) == 3


def test_missing_mart_fails_the_suite(corrupt):
    db = corrupt("drop table marts.fct_account_churn")
    result = validate_mart(db, "fct_account_churn")
    assert not result.success and "not found" in result.error
    # a suite that needs it as a reference fails the reconciliation, naming the missing input
    corrupt("drop table marts.dim_accounts")
    outcome = validate_mart(db, "mart_account_360").outcome("same_accounts_as_dim_accounts")
    assert not outcome.success and "marts.dim_accounts" in outcome.note


def test_missing_column_fails_its_rule_only(corrupt):
    db = corrupt("alter table marts.fct_account_stakeholder_coverage drop column meddic_completeness")
    result = validate_mart(db, "fct_account_stakeholder_coverage", reference_time=REFERENCE_TIME)
    assert failed(result) == {"meddic_completeness_between_0_and_1"}


def test_salesforce_only_warehouse_reconciles_opportunities(corrupt):
    # a Salesforce-only dataset has no HubSpot staging view: it counts as zero deals
    db = corrupt(
        "drop table staging.stg_hubspot__deals; delete from intermediate.int_opportunities; "
        "delete from marts.fct_opportunities where source = 'hubspot'"
    )
    assert validate_mart(db, "fct_opportunities", reference_time=REFERENCE_TIME).success


def test_published_path_may_be_the_working_file(clean_db: Path):
    result = validate_mart(clean_db, "dim_accounts", published_path=clean_db, reference_time=REFERENCE_TIME)
    assert result.success and not result.outcome("active_accounts_volume").skipped


def test_results_are_json_friendly(corrupt):
    db = corrupt("update marts.dim_accounts set tier = 'D' where account_id = 'a3'")
    data = validate_mart(db, "dim_accounts", reference_time=REFERENCE_TIME).as_dict()
    assert json.loads(json.dumps(data))["outcomes"][0]["id"] == "grain_unique"
