"""Fixtures shared across test packages: one dbt-built `small` warehouse per session (and per xdist worker),
and the reliability ledger's end-of-run summary (faults tried, survived, rows compared, rows lost)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.reliability.ledger import LEDGER_ENV, read_cases, summary_lines

pytest_plugins = ["tests.dbt.warehouse_fixtures"]

# The long poles of `make test`, started first so the other worker takes the many short files meanwhile
# (`--no-loadscope-reorder` keeps this order; xdist would otherwise start the files with the most tests).
LONG_POLES = (
    "tests/reliability/test_kill_nightly.py",  # 20 kills, ~4.5 min
    "tests/test_demo.py",  # makes the demo run the secret, PII and erasure files share
)


def pytest_configure(config: pytest.Config) -> None:
    # The controller (or a plain run) owns the ledger directory; xdist workers inherit the variable.
    if not hasattr(config, "workerinput") and not os.environ.get(LEDGER_ENV):
        os.environ[LEDGER_ENV] = tempfile.mkdtemp(prefix="acctwh-reliability-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONG_POLES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    directory = os.environ.get(LEDGER_ENV)
    lines = summary_lines(read_cases(Path(directory))) if directory else []
    if lines:
        terminalreporter.section("reliability: fault matrix")
        for line in lines:
            terminalreporter.write_line(line)
