"""The limit reference: DuckDB loading the same raw records from local files, no HTTP, no API paging.

The dataset folder holds one JSONL file per object (what the simulator serves); Parquet copies are written once
next to it. Loading them into a fresh DuckDB file shows what this machine can do, so ingestion through the APIs
can be read as a fraction of it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb


def raw_files(folder: Path) -> list[Path]:
    """Salesforce and HubSpot object files and owners: the records ingestion counts (it lands associations too,
    without counting them, so the reference is if anything generous to ingestion)."""
    return sorted((folder / "salesforce").glob("*.jsonl")) + sorted((folder / "hubspot").glob("*.jsonl"))


def _table(path: Path) -> str:
    return f"{path.parent.name}__{path.stem}".replace("-", "_")


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _read_jsonl(path: Path) -> str:
    return f"read_json({_sql_path(path)}, format='newline_delimited', sample_size=-1)"


def write_parquet(folder: Path, out: Path) -> float:
    """One Parquet file per JSONL file (skipped when already there); returns seconds spent."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for path in raw_files(folder):
            target = out / f"{_table(path)}.parquet"
            if not target.exists():
                con.execute(f"copy (select * from {_read_jsonl(path)}) to {_sql_path(target)} (format parquet)")
    return time.perf_counter() - started


def load_files(files: list[Path], fmt: str, db: Path) -> dict[str, Any]:
    """``create table ... as select * from read_<fmt>(file)`` for every file into a fresh DuckDB file."""
    db.unlink(missing_ok=True)
    records = 0
    started = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        for path in files:
            source = _read_jsonl(path) if fmt == "jsonl" else f"read_parquet({_sql_path(path)})"
            table = path.stem if fmt == "parquet" else _table(path)
            records += con.execute(f'create table "{table}" as select * from {source}').fetchone()[0]
        con.execute("checkpoint")
    seconds = time.perf_counter() - started
    db.unlink(missing_ok=True)
    return {"records": records, "seconds": seconds, "records_per_s": records / seconds if seconds else 0.0}


def reference_loads(folder: Path, workdir: Path) -> dict[str, Any]:
    """JSONL and Parquet loads of ``folder`` (Parquet written once under ``folder/_parquet``)."""
    jsonl = raw_files(folder)
    parquet_dir = folder / "_parquet"
    parquet_write_s = write_parquet(folder, parquet_dir)
    parquet = [parquet_dir / f"{_table(p)}.parquet" for p in jsonl]
    return {"files": len(jsonl), "parquet_write_s": parquet_write_s,
            "jsonl": load_files(jsonl, "jsonl", workdir / "reference_jsonl.duckdb"),
            "parquet": load_files(parquet, "parquet", workdir / "reference_parquet.duckdb")}
