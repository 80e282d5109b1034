"""The reliability ledger: every fault a test injects is recorded, and the run ends with a summary.

Tests wrap the part that injects a fault and proves the outcome in :func:`fault_case`::

    with fault_case(4, "503 on a Salesforce query page") as case:
        ...inject, run, compare with a clean run...
        case.rows_compared = len(clean_rows)
        case.rows_lost = len(clean_rows - got_rows)

A case that leaves the block without an exception *survived*; one that raises (a failed assertion
included) did not, and the exception propagates, so the test still fails. Cases are appended as JSON
lines to the directory in ``ACCTWH_RELIABILITY_LEDGER`` (set once per pytest session by
tests/conftest.py, inherited by xdist workers), and :func:`summary_lines` renders the totals.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

LEDGER_ENV = "ACCTWH_RELIABILITY_LEDGER"


@dataclass
class FaultCase:
    row: int  # the row of the fault matrix (reliability_practices.md §6), 1-31
    fault: str
    survived: bool = False
    rows_compared: int = 0
    rows_lost: int = 0
    rows_duplicated: int = 0


@contextmanager
def fault_case(row: int, fault: str) -> Iterator[FaultCase]:
    case = FaultCase(row=row, fault=fault)
    try:
        yield case
    except BaseException:
        case.survived = False
        _append(case)
        raise
    # Lost or duplicated rows are a failure even if the caller forgot to assert on them.
    case.survived = case.rows_lost == 0 and case.rows_duplicated == 0
    _append(case)
    assert case.survived, f"matrix row {row} ({fault}): {case.rows_lost} rows lost, {case.rows_duplicated} duplicated"


def _append(case: FaultCase) -> None:
    directory = os.environ.get(LEDGER_ENV)
    if not directory:
        return
    path = Path(directory) / f"cases-{os.getpid()}.jsonl"
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(case)) + "\n")


def read_cases(directory: Path) -> list[FaultCase]:
    cases: list[FaultCase] = []
    for path in sorted(directory.glob("cases-*.jsonl")):
        cases.extend(FaultCase(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return cases


def summary_lines(cases: list[FaultCase]) -> list[str]:
    if not cases:
        return []
    by_row: dict[int, list[FaultCase]] = defaultdict(list)
    for case in cases:
        by_row[case.row].append(case)
    lines = [f"{'row':>4}  {'faults tried':>12}  {'survived':>8}  {'rows compared':>13}  {'lost':>5}  {'dup':>5}"]
    for row in sorted(by_row):
        group = by_row[row]
        lines.append(
            f"{row:>4}  {len(group):>12}  {sum(c.survived for c in group):>8}  "
            f"{sum(c.rows_compared for c in group):>13,}  {sum(c.rows_lost for c in group):>5}  "
            f"{sum(c.rows_duplicated for c in group):>5}"
        )
    lines.append(
        f"total: {len(cases)} faults tried, {sum(c.survived for c in cases)} survived, "
        f"{sum(c.rows_compared for c in cases):,} rows compared, {sum(c.rows_lost for c in cases)} rows lost, "
        f"{sum(c.rows_duplicated for c in cases)} rows duplicated, matrix rows covered: {len(by_row)}"
    )
    return lines
