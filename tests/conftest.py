"""Fixtures shared across test packages: one dbt-built `small` warehouse per session (and per xdist worker),
and the reliability ledger's end-of-run summary (faults tried, survived, rows compared, rows lost)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.reliability.ledger import LEDGER_ENV, read_cases, summary_lines

pytest_plugins = ["tests.dbt.warehouse_fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    # The controller (or a plain run) owns the ledger directory; xdist workers inherit the variable.
    if not hasattr(config, "workerinput") and not os.environ.get(LEDGER_ENV):
        os.environ[LEDGER_ENV] = tempfile.mkdtemp(prefix="acctwh-reliability-")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    directory = os.environ.get(LEDGER_ENV)
    lines = summary_lines(read_cases(Path(directory))) if directory else []
    if lines:
        terminalreporter.section("reliability: fault matrix")
        for line in lines:
            terminalreporter.write_line(line)
