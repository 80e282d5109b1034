"""The Salesforce rows of the fault matrix (reliability_practices.md §6): 3-14 and 19, end to end.

Every case runs the real simple-salesforce client against the simulator, injects its fault and compares the
raw table with the simulator's records (set-equal on Id + SystemModstamp) in a ledger case; the scenarios
live in :mod:`tests.reliability.sf_cases`. A fast few also run unmarked in
``tests/connectors/test_salesforce_reliability_fast.py``.
"""

from __future__ import annotations

import pytest

from tests.reliability import sf_cases as cases
from tests.reliability.sf_helpers import SfEnv, sf_env, sf_rel_folder

pytestmark = pytest.mark.reliability
__all__ = ["sf_rel_folder"]


@pytest.fixture
def env(sf_rel_folder, tmp_path):
    with sf_env(sf_rel_folder, tmp_path) as e:
        yield e


def test_row3_concurrent_limit_is_retried(env: SfEnv):
    cases.row3_concurrent_limit_retried(env)


def test_row3_concurrency_cap_is_respected(env: SfEnv):
    cases.row3_concurrency_cap_respected(env)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 524])
def test_row4_5xx_on_a_page_is_retried(env: SfEnv, status: int):
    cases.row4_status_retried(env, status)


def test_row4_persistent_503_keeps_the_cursor(env: SfEnv):
    cases.row4_persistent_503_keeps_cursor(env)


def test_row5_read_timeout_is_retried(env: SfEnv):
    cases.row5_read_timeout_retried(env)


def test_row5_query_timeout_splits_the_window(env: SfEnv):
    cases.row5_query_timeout_splits_window(env)


def test_row5_persistent_query_timeout_keeps_the_cursor(env: SfEnv):
    cases.row5_persistent_query_timeout_keeps_cursor(env)


@pytest.mark.parametrize("path", ["rest", "bulk"])
def test_row6_reset_mid_body_is_retried(env: SfEnv, path: str):
    cases.row6_reset_retried(env, path)


def test_row6_persistent_reset_lands_no_partial_page(env: SfEnv):
    cases.row6_persistent_reset_lands_no_partial_page(env)


@pytest.mark.parametrize("path", ["rest", "bulk"])
def test_row7_401_one_reauth(env: SfEnv, path: str):
    cases.row7_one_reauth(env, path)


def test_row7_second_401_fails_without_secrets(env: SfEnv, caplog):
    cases.row7_second_401_fails_without_secrets(env, caplog)


def test_row8_invalid_query_locator_restarts_from_the_watermark(env: SfEnv):
    cases.row8_locator_restart(env)


@pytest.mark.parametrize("kind", cases.MALFORMED)
def test_row9_malformed_page_fails_at_validation(env: SfEnv, kind: str):
    cases.row9_malformed_page_fails_at_validation(env, kind)


def test_row10_record_on_two_pages_lands_once(env: SfEnv):
    cases.row10_record_on_two_pages(env)


def test_row11_record_updated_between_pages(env: SfEnv):
    cases.row11_update_between_pages(env)


def test_row12_ties_skew_and_late_commits_lose_nothing(env: SfEnv):
    cases.row12_ties_skew_late_commit(env)


def test_row13_formula_drift_is_caught_by_the_snapshot(env: SfEnv):
    cases.row13_formula_drift(env)


def test_row14_soft_hard_purged_deletes_and_merge(env: SfEnv):
    cases.row14_deletes(env)


def test_row19_hostile_field_names(env: SfEnv):
    cases.row19_hostile_field_names(env)
