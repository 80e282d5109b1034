"""`acctwh demo`: the whole nightly refresh through Dagster on the simulator, then an incremental night; and a
partial dataset folder (only four Salesforce objects) still publishes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from tests.reliability.sec_demo import shared_demo

KEEP = ("Account", "Opportunity", "OpportunityLineItem", "Product2")


def run_demo(*args: str, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "ACCTWH_"))}
    env["DAGSTER_HOME"] = str(home / ".dagster")
    return subprocess.run([sys.executable, "-m", "orchestration.cli", "demo", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def published(home: Path) -> tuple[str, dict[str, int]]:
    with duckdb.connect(str(home / "serving" / "marts.duckdb"), read_only=True) as con:
        version, counts = con.execute("select version, row_counts from _publication").fetchone()
    return version, dict(counts)


def check_demo_output(out: str, home: Path, days: int) -> None:
    assert out.count("succeeded") == days + 1 and ("Night 1 (incremental)" in out) == bool(days)
    assert "NRR" in out and "GRR" in out and "top 5 accounts by ARR" in out
    assert "dbt build" not in out  # dbt's own log goes to the log file, the terminal shows step progress
    version, counts = published(home)
    assert version.startswith(f"v{days + 1:04d}-")  # one publication per night
    assert counts["dim_accounts"] > 0 and counts["fct_account_arr_monthly"] > 0
    assert (home / "serving" / "parquet" / "mart_account_360.parquet").exists()
    assert (home / "serving" / "reports" / "latest.html").exists()


def test_demo_initial_load_publishes(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo run the secret/PII/erasure tests share (tiny initial load in `make test`; see sec_demo.py)."""
    run = shared_demo(tmp_path_factory)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    check_demo_output(run.stdout, run.home, days=run.days)


@pytest.mark.slow  # a second demo run plus an incremental night; `make test-slow`
def test_demo_publishes_and_refreshes(tmp_path: Path) -> None:
    home = tmp_path / "wh"
    result = run_demo("--scale", "tiny", "--days", "1", "--as-of", "2025-06-30", home=home)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    check_demo_output(result.stdout, home, days=1)


@pytest.mark.slow  # ~60 s more; `make test-slow`
def test_demo_on_a_folder_with_only_four_salesforce_objects(tmp_path: Path) -> None:
    full = tmp_path / "full"
    assert main(["simulator", "generate", "--scale", "tiny", "--seed", "5", "--as-of", "2025-06-30",
                 "--out", str(full)]) == 0
    partial = tmp_path / "partial" / "salesforce"
    partial.mkdir(parents=True)
    for obj in KEEP:  # a single-currency export: amounts in the corporate currency, no rate tables
        rows = [json.loads(line) for line in (full / "salesforce" / f"{obj}.jsonl").read_text().splitlines() if line]
        for row in rows:
            if "CurrencyIsoCode" in row:
                row["CurrencyIsoCode"] = "USD"
        (partial / f"{obj}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    shutil.rmtree(full)
    home = tmp_path / "wh"
    result = run_demo("--dataset", str(partial.parent), "--as-of", "2025-06-30", home=home)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "succeeded" in result.stdout
    _, counts = published(home)
    assert counts["fct_account_arr_monthly"] > 0 and counts["fct_account_engagement_monthly"] == 0
