"""A fast, representative subset of the Salesforce fault matrix, run by ``make test`` (the whole matrix is
``tests/reliability/test_matrix_salesforce.py``, ``-m reliability``): 5xx, a locator restart, ties/skew/late
commits, deletes, a malformed page, and hostile field names."""

from __future__ import annotations

import pytest

from tests.reliability import sf_cases as cases
from tests.reliability.sf_helpers import SfEnv, sf_env, sf_rel_folder

__all__ = ["sf_rel_folder"]


@pytest.fixture
def env(sf_rel_folder, tmp_path):
    with sf_env(sf_rel_folder, tmp_path) as e:
        yield e


def test_row4_503_on_a_page_is_retried(env: SfEnv):
    cases.row4_status_retried(env, 503)


def test_row8_invalid_query_locator_restarts_from_the_watermark(env: SfEnv):
    cases.row8_locator_restart(env)


def test_row9_duplicate_keys_fail_at_validation(env: SfEnv):
    cases.row9_malformed_page_fails_at_validation(env, "duplicate_keys")


def test_row12_ties_skew_and_late_commits_lose_nothing(env: SfEnv):
    cases.row12_ties_skew_late_commit(env)


def test_row14_soft_hard_purged_deletes_and_merge(env: SfEnv):
    cases.row14_deletes(env)


def test_row19_hostile_field_names(env: SfEnv):
    cases.row19_hostile_field_names(env)
