"""Warehouse comparisons for the reliability suite: a run's raw layer, marts and serving file against a clean run.

Also :func:`ingest_into`, one ingestion of both CRMs into a file (what the nightly's ingestion steps do), used to
make clean references and victims. Every file is ATTACHed read-only in a private in-memory DuckDB that is closed
right after, so no check ever holds a lock a run needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

RAW_SCHEMAS = ("raw_salesforce", "raw_hubspot")
MODSTAMPS = ("SystemModstamp", "updated_at", "updatedAt", "LastModifiedDate")


def ingest_into(path: str | Path, salesforce_url: str, hubspot_url: str) -> list[Any]:
    """One ingestion run of both CRMs into ``path`` (what the nightly's ingestion steps do), pacing opened up."""
    from connectors.hubspot.config import HubSpotConfig
    from connectors.hubspot.sync import sync_hubspot
    from connectors.salesforce.config import SalesforceConfig
    from connectors.salesforce.sync import SyncOptions, sync_salesforce

    sf = SalesforceConfig.from_env({"SALESFORCE_URL": salesforce_url, "SALESFORCE_USERNAME": "etl@example.com",
                                    "SALESFORCE_PASSWORD": "pw", "SALESFORCE_SECURITY_TOKEN": "tok"})
    hs = HubSpotConfig.from_env({"HUBSPOT_URL": hubspot_url, "HUBSPOT_ACCESS_TOKEN": "pat-test"},
                                general_per_10s=100_000, search_per_second=1_000)
    from connectors.warehouse.raw import RawWarehouse

    with RawWarehouse(path) as wh:
        results = sync_salesforce(sf, wh, options=SyncOptions(bulk_wait=0.01)) + sync_hubspot(hs, wh)
    bad = [f"{r.object}: {r.status} {r.message}" for r in results if r.status != "success"]
    if bad:
        raise RuntimeError("ingestion did not finish: " + "; ".join(bad))
    return results



def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def attached(**paths: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB with each file ATTACHed read-only (closed afterwards: no lock outlives it)."""
    with closing(duckdb.connect()) as con:
        for alias, path in paths.items():
            con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
        yield con


@dataclass
class Diff:
    """Candidate vs. clean run: ``compared`` clean rows; every other counter must be 0 where it applies."""

    compared: int = 0
    lost: int = 0  # clean (key, modstamp) missing from the candidate
    duplicated: int = 0  # candidate rows beyond one per key
    extra: int = 0  # candidate (key, modstamp) the clean run does not have
    differing: int = 0  # candidate rows whose values differ from the clean run's row
    problems: list[str] = field(default_factory=list)

    def add(self, other: Diff) -> None:
        for name in ("compared", "lost", "duplicated", "extra", "differing"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems


def _tables(con: duckdb.DuckDBPyConnection, db: str, schemas: tuple[str, ...]) -> set[tuple[str, str]]:
    marks = ", ".join("?" for _ in schemas)
    rows = con.execute(f"SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                       f"AND schema_name IN ({marks})", [db, *schemas]).fetchall()
    return {(s, t) for s, t in rows}


def _columns(con: duckdb.DuckDBPyConnection, db: str, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND "
                                      "schema_name = ? AND table_name = ? ORDER BY column_index",
                                      [db, schema, table]).fetchall()]


def _primary_key(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = 'ref' AND "
                       "schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
                       [schema, table]).fetchall()
    if not rows:
        raise AssertionError(f"clean run's {schema}.{table} has no primary key")
    return list(rows[0][0])


def raw_diff(reference: Path, candidate: Path, *, complete: bool, baseline: Path | None = None) -> Diff:
    """Every raw table of ``candidate`` against the clean run.

    ``complete``: the candidate finished ingestion, so it must hold exactly the clean rows. Otherwise (a run killed
    mid-ingestion) it may miss rows, but every row it holds must be a clean row (or, with ``baseline``, the row as
    it was before the night started), once.
    """
    out = Diff()
    paths = {"ref": reference, "cand": candidate, **({"base": baseline} if baseline and not complete else {})}
    with attached(**paths) as con:
        ref_tables, cand_tables = _tables(con, "ref", RAW_SCHEMAS), _tables(con, "cand", RAW_SCHEMAS)
        if cand_tables - ref_tables or (complete and ref_tables - cand_tables):
            out.problems.append(f"raw tables differ: missing {sorted(ref_tables - cand_tables)}, "
                                f"extra {sorted(cand_tables - ref_tables)}")
        for schema, table in sorted(ref_tables & cand_tables):
            base = "base" in paths and (schema, table) in _tables(con, "base", RAW_SCHEMAS)
            out.add(_table_diff(con, schema, table, complete=complete, baseline=base))
    return out


def _table_diff(con: duckdb.DuckDBPyConnection, schema: str, table: str, *, complete: bool,
                baseline: bool = False) -> Diff:
    d = Diff()
    name = f"{schema}.{table}"
    cols = _columns(con, "ref", schema, table)
    if _columns(con, "cand", schema, table) != cols:
        d.problems.append(f"{name}: columns differ")
        return d
    key = _primary_key(con, schema, table)
    stamp = next((c for c in MODSTAMPS if c in cols), None)
    ident = ", ".join(_q(c) for c in [*key, *([stamp] if stamp else [])])
    data = ", ".join(_q(c) for c in cols if c != "_loaded_at")  # the load time is wall clock by design
    ref, cand = f"ref.{_q(schema)}.{_q(table)}", f"cand.{_q(schema)}.{_q(table)}"
    keys = ", ".join(_q(c) for c in key)

    def one(sql: str) -> int:
        return int(con.execute(sql).fetchone()[0])

    d.compared = one(f"SELECT count(*) FROM {ref}")
    n_cand, distinct = con.execute(f"SELECT count(*), count(DISTINCT ({keys})) FROM {cand}").fetchone()
    d.duplicated = int(n_cand) - int(distinct)
    allowed = ref
    if baseline:  # mid-night: a row may still be yesterday's version (its change is not landed yet)
        base = f"base.{_q(schema)}.{_q(table)}"
        allowed = f"(SELECT * FROM {ref} UNION ALL SELECT * FROM {base})"
    d.extra = one(f"SELECT count(*) FROM (SELECT {ident} FROM {cand} EXCEPT SELECT {ident} FROM {allowed})")
    d.differing = one(f"SELECT count(*) FROM (SELECT {data} FROM {cand} EXCEPT SELECT {data} FROM {allowed})")
    if complete:
        d.lost = one(f"SELECT count(*) FROM (SELECT {ident} FROM {ref} EXCEPT SELECT {ident} FROM {cand})")
        d.differing = max(d.differing, one(f"SELECT count(*) FROM (SELECT {data} FROM {ref} EXCEPT ALL "
                                           f"SELECT {data} FROM {cand})"))
    if d.lost or d.duplicated or d.extra or d.differing:
        d.problems.append(f"{name}: clean {d.compared} rows, candidate {n_cand}; lost {d.lost}, duplicated "
                          f"{d.duplicated}, foreign {d.extra}, differing {d.differing}")
    return d


def marts_diff(reference: Path, candidate: Path, *, ref_schema: str = "marts", cand_schema: str = "marts") -> Diff:
    """Row-for-row (multiset) equality of every mart; ``lost``/``extra`` count rows missing/added on either side."""
    out = Diff()
    with attached(ref=reference, cand=candidate) as con:
        ref_tables = {t for _, t in _tables(con, "ref", (ref_schema,)) if t != "_publication"}
        cand_tables = {t for _, t in _tables(con, "cand", (cand_schema,)) if t != "_publication"}
        if ref_tables != cand_tables:
            out.problems.append(f"marts differ: missing {sorted(ref_tables - cand_tables)}, "
                                f"extra {sorted(cand_tables - ref_tables)}")
        for table in sorted(ref_tables & cand_tables):
            a, b = f"ref.{_q(ref_schema)}.{_q(table)}", f"cand.{_q(cand_schema)}.{_q(table)}"
            types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'ref' "
                                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                                [ref_schema, table]).fetchall()
            # DuckDB sums doubles in parallel, in no fixed order: two clean builds differ in the last ulp of an
            # average (0.5833333333333334 vs ...33). Doubles are compared to 9 decimals; DECIMAL money is exact.
            cols = ", ".join(f"round({_q(c)}, 9)" if t in ("DOUBLE", "FLOAT") else _q(c) for c, t in types)
            n = int(con.execute(f"SELECT count(*) FROM {a}").fetchone()[0])
            lost = int(con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})"
                                   ).fetchone()[0])
            extra = int(con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {b} EXCEPT ALL SELECT {cols} FROM {a})"
                                    ).fetchone()[0])
            out.compared += n
            out.lost += lost
            out.extra += extra
            if lost or extra:
                out.problems.append(f"mart {table}: {n} clean rows, {lost} missing, {extra} extra")
    return out


def serving_version(home: Path) -> tuple[str, int] | None:
    """(version, seq) of ``<home>/serving/marts.duckdb`` opened read-only; None when nothing was published."""
    path = home / "serving" / "marts.duckdb"
    if not path.exists():
        return None
    with attached(s=path) as con:
        version, seq = con.execute("SELECT version, seq FROM s.main._publication").fetchone()
    return str(version), int(seq)


def orphans(home: Path) -> list[str]:
    """Leftovers of an interrupted build or publish that a completed publish must have removed."""
    found: list[str] = []
    root = home / "serving"
    if root.is_dir():
        found += [p.name for p in root.iterdir() if p.name.startswith((".staging-", ".tmp-"))]
        versions = root / "versions"
        if versions.is_dir():
            found += [f"versions/{d.name} (no manifest)" for d in versions.iterdir()
                      if d.is_dir() and not (d / "manifest.json").exists()]
    working = home / "working.duckdb"
    if working.exists():
        like = " OR ".join(f"{{col}} LIKE '%\\_\\_dbt\\_{kind}%' ESCAPE '\\'" for kind in ("tmp", "backup"))
        with attached(w=working) as con:
            found += [f"{s}.{t}" for s, t in con.execute(
                f"SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'w' AND "
                f"({like.format(col='table_name')}) UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
                f"WHERE database_name = 'w' AND ({like.format(col='view_name')})").fetchall()]
    return sorted(found)
