"""The acctwh command line: generate, load errors a user can act on, and the demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connectors.simulator.dataset.folder import load
from orchestration.cli import main


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_generate_writes_a_loadable_folder(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    assert main(["simulator", "generate", "--scale", "tiny", "--seed", "3", "--as-of", "2025-06-30",
                 "--out", str(out)]) == 0
    dataset = load(out)
    assert dataset.meta["scale"] == "tiny" and dataset.meta["as_of"] == "2025-06-30"
    assert dataset.count(dataset.sf_table("Account")) > 0
    assert "account_arr_monthly" in dataset.ground_truth


def test_generate_refuses_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "exists").mkdir()
    assert main(["simulator", "generate", "--scale", "tiny", "--out", str(tmp_path / "exists")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_serving_a_malformed_dataset_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "salesforce"
    bad.mkdir(parents=True)
    (bad / "Account.jsonl").write_text('{"Id": "001000000000001AAA", "Name": "ok"}\n{"Id": oops}\n')
    result = run_cli("simulator", "serve", "--dataset", str(tmp_path / "bad"), timeout=60)
    assert result.returncode == 2
    assert "Account.jsonl, line 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_fault_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ds" / "salesforce").mkdir(parents=True)
    (tmp_path / "faults.json").write_text('[{"kind": "explode"}]')
    result = run_cli("simulator", "serve", "--dataset", str(tmp_path / "ds"), "--faults",
                     str(tmp_path / "faults.json"), timeout=60)
    assert result.returncode == 2
    assert "fault #1" in result.stderr and "explode" in result.stderr
    assert "Traceback" not in result.stderr

