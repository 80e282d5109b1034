"""A fast, representative subset of the HubSpot fault matrix for ``make test`` (the full set is in
``test_matrix_hubspot.py``, marked ``reliability``): a 429 storm, a 503, a NaN page, a record moving during a
search, late commits behind the cursor and 25,000 tied records past the 10k search cap."""

from __future__ import annotations

from pathlib import Path

from tests.reliability import hs_cases as cases


def test_row1_429_storm_backs_off_with_jitter(tmp_path: Path) -> None:
    cases.row1_storm(tmp_path, storm=20)


def test_row4_503_on_a_page_is_retried(tmp_path: Path) -> None:
    cases.row4_5xx(tmp_path, 503)


def test_row9_nan_page_is_rejected_and_retried(tmp_path: Path) -> None:
    cases.row9_malformed(tmp_path, "nan")


def test_row11_record_moving_between_pages_during_a_search(tmp_path: Path) -> None:
    cases.row11_moving_records(tmp_path)


def test_row12_late_commits_caught_by_the_lookback(tmp_path: Path) -> None:
    cases.row12_late_commit(tmp_path)


def test_row15_25000_tied_records_past_the_search_cap(tmp_path: Path) -> None:
    cases.row15_tied_past_cap(tmp_path, 25_000)
