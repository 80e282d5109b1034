"""Merge throughput, 200k rows x 25 columns (``-m slow``; prints rows/s). A 20k smoke runs in the fast suite."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from connectors.warehouse.columns import Column
from connectors.warehouse.raw import RawWarehouse

TYPES = ["DECIMAL(18,2)"] * 8 + ["VARCHAR"] * 6 + ["TIMESTAMPTZ"] * 3 + ["BIGINT"] * 3 + ["BOOLEAN"] * 2 + ["DATE"]
COLUMNS = [Column("Id", "VARCHAR", "id"), Column("SystemModstamp", "TIMESTAMPTZ", "datetime")] + [
    Column(f"F{i}__c", t, "x") for i, t in enumerate(TYPES)
]  # 25 columns


def text_batch(n: int, offset: int, version: int) -> pa.Table:
    rng = np.random.default_rng(version)
    ids = np.char.add("006", np.char.zfill(np.arange(offset, offset + n).astype(str), 15))
    data: dict[str, pa.Array] = {
        "Id": pa.array(ids),
        "SystemModstamp": pa.array([f"2024-01-{1 + version:02d}T10:20:30.000Z"] * n),
    }
    for col in COLUMNS[2:]:
        t = col.duck_type
        if t.startswith("DECIMAL"):
            vals = np.round(rng.uniform(-1e6, 1e6, n), 2)
            data[col.name] = pa.array(np.char.mod("%.2f", vals))
        elif t == "VARCHAR":
            data[col.name] = pa.array(np.char.add("text-", rng.integers(0, 10**6, n).astype(str)))
        elif t == "TIMESTAMPTZ":
            data[col.name] = pa.array(["2024-02-29T23:59:59.999Z"] * n)
        elif t == "BIGINT":
            data[col.name] = pa.array(rng.integers(-(10**9), 10**9, n).astype(str))
        elif t == "BOOLEAN":
            data[col.name] = pa.array(np.where(rng.random(n) < 0.5, "true", "false"))
        else:
            data[col.name] = pa.array(["2024-02-29"] * n)
    return pa.table(data)


def run(wh: RawWarehouse, b: pa.Table) -> tuple[float, object]:
    t0 = time.perf_counter()
    counts = wh.merge("salesforce", "perf", b, primary_key="Id", cursor_column="SystemModstamp")
    return time.perf_counter() - t0, counts


def measure(tmp_path, n: int) -> dict[str, float]:
    out = {}
    with RawWarehouse(tmp_path / "perf.duckdb") as wh:
        wh.ensure_table("salesforce", "perf", COLUMNS, "Id")
        secs, counts = run(wh, text_batch(n, 0, 0))
        assert counts.inserted == n
        out["insert"] = n / secs
        secs, counts = run(wh, text_batch(n, 0, 1))
        assert counts.updated == n
        out["update"] = n / secs
        secs, counts = run(wh, text_batch(n, 0, 1))
        assert counts.unchanged == n
        out["unchanged"] = n / secs
        secs, counts = run(wh, text_batch(n, n // 2, 2))
        assert (counts.inserted, counts.updated) == (n // 2, n - n // 2)
        out["mixed"] = n / secs
        assert wh.table_rows("salesforce", "perf") == n + n // 2
    return out


def test_merge_throughput_smoke(tmp_path):
    rates = measure(tmp_path, 20_000)
    assert min(rates.values()) > 10_000


@pytest.mark.slow
def test_merge_throughput_200k(tmp_path):
    rates = measure(tmp_path, 200_000)
    print({k: f"{v:,.0f} rows/s" for k, v in rates.items()})
    assert min(rates.values()) > 40_000  # 200k rows in < 5 s
