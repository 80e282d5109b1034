"""``acctwh ingest`` end to end through a subprocess against the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from connectors.warehouse.raw import RawWarehouse

from .conftest import assert_no_secrets


def run_ingest(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=timeout)


def test_ingest_salesforce_prints_the_table_and_exits_zero(crm_env: dict[str, str], tmp_path: Path,
                                                           tiny_dataset: Any) -> None:
    home = tmp_path / "cli-home"
    result = run_ingest("--source", "salesforce", "--home", str(home), env=crm_env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["source", "object", "status", "inserted", "updated", "deleted", "api", "calls",
                                "path", "duration"]
    account = next(line.split() for line in lines if line.startswith("salesforce  Account "))
    assert account[2] == "success" and account[3] == "40" and account[7] == "rest"
    assert "13 of 13 streams succeeded" in result.stdout
    assert "salesforce Account" in result.stderr  # the progress bars
    assert "Traceback" not in result.stderr
    with RawWarehouse(home / "working.duckdb", read_only=True) as wh:
        assert wh.table_rows("salesforce", "account") == tiny_dataset.count(tiny_dataset.sf_table("Account"))
    assert_no_secrets(result.stdout + result.stderr)


def test_ingest_partial_exits_nonzero_with_one_line_reason(crm_env: dict[str, str], sim: Any, tmp_path: Path) -> None:
    sim.faults.add("request_limit", "sf.query*", after=3, times=None)
    result = run_ingest("--source", "salesforce", "--home", str(tmp_path / "h"), env=crm_env)
    assert result.returncode == 1
    reason = [line for line in result.stderr.splitlines() if line.startswith("acctwh:")]
    assert len(reason) == 1 and "partial" in reason[0] and "REQUEST_LIMIT_EXCEEDED" in reason[0]
    assert " partial " in result.stdout and " skipped " in result.stdout
    assert "Traceback" not in result.stderr
    assert_no_secrets(result.stdout + result.stderr)


def test_ingest_configuration_error_is_one_line_exit_2(crm_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HUBSPOT_ACCESS_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "ingest", "--source", "hubspot", "--home",
                             str(tmp_path / "h")], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "HUBSPOT_ACCESS_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "h").exists()  # nothing ran
