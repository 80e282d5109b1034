"""Same-transaction state: a crash between the MERGE and the COMMIT moves neither data nor cursor."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from connectors.warehouse.columns import Column
from connectors.warehouse.raw import RawWarehouse
from connectors.warehouse.state import StreamState

COLS = [
    Column("Id", "VARCHAR", "id"),
    Column("Amount", "DECIMAL(18,2)", "currency"),
    Column("SystemModstamp", "TIMESTAMPTZ", "datetime"),
]
C1, C2 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)


class Crash(Exception):
    pass


def load(wh: RawWarehouse, ids: list[str], amount: str, stamp: str, cursor: datetime, **state_kw):
    b = pa.table({"Id": ids, "Amount": [amount] * len(ids), "SystemModstamp": [stamp] * len(ids)})
    st = StreamState("salesforce", "Opportunity", cursor=cursor, status="success", **state_kw)
    return wh.merge(
        "salesforce", "opportunity", b, primary_key="Id", cursor_column="SystemModstamp", state=st, columns=COLS
    )


def rows(wh: RawWarehouse) -> list[dict]:
    return wh.fetch_arrow("SELECT * FROM raw_salesforce.opportunity ORDER BY ALL").to_pylist()


def test_hook_crash_between_merge_and_commit(wh):
    load(wh, ["006A", "006B"], "1.00", "2024-01-01T00:00:00Z", C1)
    before, state_before = rows(wh), wh.get_state("salesforce", "Opportunity")
    seen: list[int] = []

    def crash(operation: str) -> None:
        # the MERGE and the state write have run inside the open transaction ...
        seen.append(wh.fetch_arrow("SELECT count(*) FROM raw_salesforce.opportunity").column(0)[0].as_py())
        assert wh.fetch_arrow("SELECT cursor FROM _meta.stream_state").column(0)[0].as_py() == C2
        raise Crash(operation)  # ... and the process dies before COMMIT

    wh.before_commit = crash
    with pytest.raises(Crash, match="merge"):
        load(wh, ["006A", "006C"], "2.00", "2024-01-02T00:00:00Z", C2)
    assert seen == [3]
    wh.before_commit = None
    assert rows(wh) == before
    assert wh.get_state("salesforce", "Opportunity") == state_before
    assert wh.get_state("salesforce", "Opportunity").cursor == C1
    # the rerun loads the window again: no loss, no duplicates
    counts = load(wh, ["006A", "006C"], "2.00", "2024-01-02T00:00:00Z", C2)
    assert (counts.inserted, counts.updated) == (1, 1)
    assert wh.table_rows("salesforce", "opportunity") == 3
    assert wh.get_state("salesforce", "Opportunity").cursor == C2


def test_failing_state_write_rolls_back_the_data(wh):
    load(wh, ["006A"], "1.00", "2024-01-01T00:00:00Z", C1)
    before = rows(wh)
    with pytest.raises(TypeError):  # extra is not JSON-serialisable: the state write after the MERGE fails
        load(wh, ["006A", "006B"], "2.00", "2024-01-02T00:00:00Z", C2, extra={"bad": object()})
    assert rows(wh) == before
    assert wh.get_state("salesforce", "Opportunity").cursor == C1


def test_process_killed_before_commit(tmp_path):
    """A real crash: the child process calls os._exit between the MERGE and the COMMIT."""
    path = tmp_path / "w.duckdb"
    script = textwrap.dedent(f"""
        import os
        from datetime import UTC, datetime
        import pyarrow as pa
        from connectors.warehouse.raw import RawWarehouse
        from connectors.warehouse.state import StreamState
        from tests.warehouse.test_crash import load
        wh = RawWarehouse({str(path)!r})
        load(wh, ["006A", "006B"], "1.00", "2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC))
        wh.before_commit = lambda op: os._exit(9)
        load(wh, ["006A", "006C"], "2.00", "2024-01-02T00:00:00Z", datetime(2024, 1, 2, tzinfo=UTC))
    """)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    with RawWarehouse(path) as wh:
        data = wh.fetch_arrow(
            'SELECT "Id", CAST("Amount" AS VARCHAR) AS a FROM raw_salesforce.opportunity ORDER BY 1'
        ).to_pylist()
        assert data == [{"Id": "006A", "a": "1.00"}, {"Id": "006B", "a": "1.00"}]
        assert wh.get_state("salesforce", "Opportunity").cursor == C1
