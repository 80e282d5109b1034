"""HubSpot rows of the fault matrix (reliability_practices.md §6): 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16.

Every case runs the real hubspot-api-client against a private ``tiny`` simulator with a fault injected, then
compares raw with the simulator's records (set-equal on id + last-modified + deleted) inside the shared ledger.
The bodies live in ``hs_cases.py``; ``test_matrix_hubspot_fast.py`` runs a representative subset in ``make test``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import hs_cases as cases

pytestmark = pytest.mark.reliability


def test_row1_429_storm_backs_off_with_jitter(tmp_path: Path) -> None:
    cases.row1_storm(tmp_path, storm=20)


def test_row1_endless_429_storm_stops_after_bounded_attempts(tmp_path: Path) -> None:
    cases.row1_storm_exhausted(tmp_path)


def test_row2_daily_limit_stops_keeps_cursor_and_resumes(tmp_path: Path) -> None:
    cases.row2_daily(tmp_path)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 524])
def test_row4_5xx_on_a_page_is_retried(tmp_path: Path, status: int) -> None:
    cases.row4_5xx(tmp_path, status)


def test_row4_persistent_5xx_keeps_committed_pages_and_resumes(tmp_path: Path) -> None:
    cases.row4_persistent(tmp_path)


def test_row5_read_timeout_is_retried(tmp_path: Path) -> None:
    cases.row5_timeout(tmp_path)


def test_row6_reset_mid_body_is_retried(tmp_path: Path) -> None:
    cases.row6_reset(tmp_path)


def test_row6_persistent_reset_lands_no_partial_page(tmp_path: Path) -> None:
    cases.row6_persistent(tmp_path)


def test_row7_expired_token_fails_cleanly_naming_the_variable(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    cases.row7_expired(tmp_path, caplog)


@pytest.mark.parametrize("kind", ["bad_json", "truncated", "nan", "duplicate_keys"])
def test_row9_malformed_page_is_rejected_and_retried(tmp_path: Path, kind: str) -> None:
    cases.row9_malformed(tmp_path, kind)


@pytest.mark.parametrize("kind", ["bad_json", "truncated", "nan", "duplicate_keys"])
def test_row9_persistently_malformed_search_lands_nothing(tmp_path: Path, kind: str) -> None:
    cases.row9_persistent(tmp_path, kind)


def test_row10_same_record_on_two_pages(tmp_path: Path) -> None:
    cases.row10_same_record_twice(tmp_path)


def test_row11_record_moving_between_pages_during_a_search(tmp_path: Path) -> None:
    cases.row11_moving_records(tmp_path)


def test_row12_late_commits_caught_by_the_lookback(tmp_path: Path) -> None:
    cases.row12_late_commit(tmp_path)


def test_row12_search_lag_caught_next_run(tmp_path: Path) -> None:
    cases.row12_search_lag(tmp_path)


def test_row14_archive_restore_merge_purge(tmp_path: Path) -> None:
    cases.row14_lifecycle(tmp_path)


def test_row15_25000_tied_records_past_the_search_cap(tmp_path: Path) -> None:
    cases.row15_tied_past_cap(tmp_path, 25_000)


def test_row16_new_property_between_runs(tmp_path: Path) -> None:
    cases.row16_new_property(tmp_path)
