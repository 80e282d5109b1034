"""The `small` simulator dataset landed through the real connectors and built with dbt, once per session.

Registered for every test package by tests/conftest.py, so one build serves tests/dbt, tests/expectations and
the gate tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from connectors.simulator.dataset.generate import generate
from connectors.simulator.dataset.store import Dataset
from connectors.simulator.land import ingest

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt_project"
AS_OF = date(2026, 6, 30)  # mid-year, so the as-of month is a full month-end
SEED = 42
TEST_SECRET = "tests-person-key-secret-0123456789"


@dataclass
class BuiltWarehouse:
    dataset: Dataset
    path: Path
    as_of: date

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)

    def frame(self, sql: str, params: list | None = None):
        with self.connect() as con:
            return con.execute(sql, params or []).df()


@dataclass
class DbtResult:
    returncode: int
    statuses: dict[str, str]  # node name -> run_results status (success, pass, fail, error, skipped)
    output: str

    @property
    def success(self) -> bool:
        return self.returncode == 0


def run_dbt(args: list[str], db_path: Path, as_of: date, env: dict[str, str] | None = None) -> DbtResult:
    """`dbt <args>` in a subprocess (as Dagster runs it) on ``db_path`` with the as-of date pinned."""
    target = db_path.parent / f"dbt_target_{db_path.stem}"
    run_env = {
        **os.environ,
        "ACCTWH_DUCKDB_PATH": str(db_path),
        "ACCTWH_PERSON_KEY_SECRET": TEST_SECRET,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
            "--vars",
            f"{{as_of_date: '{as_of.isoformat()}'}}",
        ],
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    results_file = target / "run_results.json"
    statuses = {}
    if results_file.exists():
        for r in json.loads(results_file.read_text())["results"]:
            statuses[
                r["unique_id"].split(".")[-1]
                if r["unique_id"].startswith("unit_test.")
                else r["unique_id"].split(".")[2]
            ] = r["status"]
    return DbtResult(proc.returncode, statuses, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def raw_small(tmp_path_factory) -> tuple[Dataset, Path]:
    """`small` (seed 42, as of 2026-06-30) landed in a raw DuckDB file; copy it before writing."""
    dataset = generate("small", seed=SEED, as_of=AS_OF)
    path = tmp_path_factory.mktemp("raw") / "raw.duckdb"
    ingest(dataset, path)
    return dataset, path


@pytest.fixture(scope="session")
def built_small(raw_small, tmp_path_factory) -> Iterator[BuiltWarehouse]:
    """`dbt build` over the landed `small` dataset; fails the session's dbt tests if the build fails."""
    dataset, raw_path = raw_small
    path = tmp_path_factory.mktemp("built") / "working.duckdb"
    shutil.copy(raw_path, path)
    result = run_dbt(["build"], path, AS_OF)
    if not result.success:
        bad = [f"{name}: {status}" for name, status in result.statuses.items() if status not in ("pass", "success")]
        pytest.fail("dbt build failed:\n" + "\n".join(bad) + "\n" + result.output[-4000:])
    yield BuiltWarehouse(dataset, path, AS_OF)
