"""Fixtures: a hand-written working warehouse that passes every suite, and the dbt-built `small` warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.expectations.warehouse import build_warehouse


@pytest.fixture
def clean_db(tmp_path: Path) -> Path:
    return build_warehouse(tmp_path / "working.duckdb")


@pytest.fixture
def corrupt(clean_db: Path) -> Callable[[str], Path]:
    """Apply one SQL corruption to the clean warehouse (then close it, so validation opens it read-only)."""

    def apply(sql: str) -> Path:
        with duckdb.connect(str(clean_db)) as con:
            con.execute(sql)
        return clean_db

    return apply
