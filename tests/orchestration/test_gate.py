"""Write-audit-publish through Dagster: a corrupted candidate mart fails its gate check and nothing is swapped;
a clean run swaps the serving file under a connected reader, who sees the old or the new version only.

The candidate marts come from the dbt-built `small` warehouse (tests/dbt/warehouse_fixtures.py); each run executes the
Great Expectations checks and ``published_marts`` exactly as in ``nightly_refresh_job``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.publish.assets import published_marts
from orchestration.defs.quality.gx_checks import CHECK_NAME, REFERENCE_TIME_VAR, gx_mart_suites
from orchestration.defs.resources import WarehouseResource

ARR = "marts.fct_account_arr_monthly"

READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def state():
        version = con.execute("select version from _publication").fetchone()[0]
        total = con.execute("select sum(arr) from fct_account_arr_monthly").fetchone()[0]
        return f"{version} {total}"
    print(state(), flush=True)
    for line in sys.stdin:
        print(state(), flush=True)
    """
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_gate(home: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [published_marts, gx_mart_suites],
        selection=dg.AssetSelection.assets(published_marts) | dg.AssetSelection.checks(gx_mart_suites),
        resources={"warehouse": WarehouseResource(home=str(home))},
        raise_on_error=False,
    )


def check_result(result: dg.ExecuteInProcessResult, mart: str) -> dg.AssetCheckEvaluation:
    evaluations = [e for e in result.get_asset_check_evaluations()
                   if e.asset_key == dg.AssetKey(["marts", mart]) and e.check_name == CHECK_NAME]
    assert len(evaluations) == 1
    return evaluations[0]


@pytest.fixture
def home(built_small, tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "warehouse"
    home.mkdir()
    shutil.copy(built_small.path, home / "working.duckdb")
    monkeypatch.setenv(REFERENCE_TIME_VAR, built_small.dataset.clock.isoformat())
    return home


def negative_arr(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"update {ARR} set arr = -arr where (account_id, month) in "
                f"(select account_id, month from {ARR} where arr > 0 order by account_id, month limit 1)")


def duplicate_account_month(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"insert into {ARR} select * from {ARR} where arr > 0 order by account_id, month limit 1")


def broken_identity(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"update {ARR} set expansion_arr = expansion_arr + 100 where (account_id, month) in "
                f"(select account_id, month from {ARR} where movement = 'flat' order by account_id, month limit 1)")


def most_accounts_gone(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        delete from {ARR} where account_id in (
            select account_id from (select distinct account_id from {ARR}) order by account_id
            limit (select cast(count(distinct account_id) * 0.6 as integer) from {ARR}))""")


@pytest.mark.parametrize(
    ("corrupt", "expectation"),
    [
        (negative_arr, "arr_non_negative"),
        (duplicate_account_month, "grain_unique"),
        (broken_identity, "movement_identity"),
        (most_accounts_gone, "active_accounts_volume"),
    ],
    ids=["negative-arr", "duplicate-account-month", "broken-identity", "60pct-accounts-gone"],
)
def test_corrupt_candidate_fails_its_check_and_serving_stays(
    home: Path, corrupt: Callable[[duckdb.DuckDBPyConnection], None], expectation: str
):
    first = run_gate(home)
    assert first.success, [e.description for e in first.get_asset_check_evaluations() if not e.passed]
    serving = home / "serving" / "marts.duckdb"
    before = sha256(serving)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        old_state = reader.stdout.readline().strip()
        with duckdb.connect(str(home / "working.duckdb")) as con:
            corrupt(con)
        result = run_gate(home)
        assert not result.success
        evaluation = check_result(result, "fct_account_arr_monthly")
        assert not evaluation.passed
        assert expectation in evaluation.metadata["failed_expectations"].value
        assert not result.asset_materializations_for_node("published_marts")
        assert sha256(serving) == before
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == old_state
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0
    assert (home / "serving" / "reports" / "latest.html").exists()


def test_clean_run_swaps_under_a_connected_reader(home: Path):
    assert run_gate(home).success
    serving = home / "serving" / "marts.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        first_version = con.execute("select version from _publication").fetchone()[0]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        held = reader.stdout.readline().strip()
        assert held.startswith(first_version)
        second = run_gate(home)  # the next night's publication (a new version of the same candidate)
        assert second.success
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == held  # the open reader keeps its whole version
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    fresh = subprocess.run([sys.executable, "-c", READER, str(serving)], input="", capture_output=True, text=True,
                           check=True).stdout.strip()
    assert not fresh.startswith(first_version)  # a new reader sees the new version, whole
    assert fresh.split()[1] == held.split()[1]
