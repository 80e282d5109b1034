"""``acctwh rollback``: list the kept versions, restore the previous one, clear one-line errors (exit 2)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from connectors.warehouse.serving import current_version, publish
from orchestration.cli import main


def run_cli(*args: str, env_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **({"ACCTWH_HOME": str(env_home)} if env_home else {})}
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _candidate(path: Path, rows: int) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(f"CREATE OR REPLACE TABLE marts.dim_accounts AS SELECT range AS id FROM range({rows})")
    return path


def test_rollback_lists_and_restores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, working = tmp_path / "wh", tmp_path / "working.duckdb"
    first = publish(_candidate(working, 3), home)
    served_first = hashlib.sha256((home / "serving" / "marts.duckdb").read_bytes()).hexdigest()
    second = publish(_candidate(working, 5), home)

    assert main(["rollback", "--home", str(home), "--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("*") and second.version in out[1] and first.version in out[2]

    assert main(["rollback", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"now serving {first.version} (was {second.version})" in out
    assert current_version(home) == first.version
    assert hashlib.sha256((home / "serving" / "marts.duckdb").read_bytes()).hexdigest() == served_first

    assert main(["rollback", "--home", str(home), "--to", second.version]) == 0
    assert current_version(home) == second.version


def test_rollback_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "wh"
    result = run_cli("rollback", env_home=home)  # $ACCTWH_HOME is the default home
    assert result.returncode == 2
    assert "nothing to roll back to" in result.stderr and str(home / "serving" / "versions") in result.stderr
    assert "Traceback" not in result.stderr
    assert "no published versions" in run_cli("rollback", "--list", "--home", str(home)).stderr

    only = publish(_candidate(tmp_path / "working.duckdb", 2), home)
    result = run_cli("rollback", "--home", str(home))
    assert result.returncode == 2 and f"{only.version} is the oldest version kept" in result.stderr
    result = run_cli("rollback", "--home", str(home), "--to", "v0042")
    assert result.returncode == 2 and "'v0042' is not kept" in result.stderr and "Traceback" not in result.stderr
