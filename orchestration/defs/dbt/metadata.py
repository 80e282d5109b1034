"""Row counts and column schemas for what ``dbt build`` wrote, read after dbt exits.

dagster-dbt's ``fetch_row_counts()`` / ``fetch_column_metadata()`` query through an in-process dbt adapter
while the dbt subprocess is still running. With DuckDB that cannot work: the subprocess holds the file's write
lock for the whole build, so every query fails with ``Could not set lock on file`` (logged as an error per
model). Instead the build's events are collected, then one read-only connection adds ``dagster/row_count``
(tables and seeds; views are not counted, as in dagster-dbt, since counting re-runs their SQL) and
``dagster/column_schema`` (every relation) to each materialization. The cost: the dbt step's events reach the
UI when dbt exits rather than one by one (dbt's own log still streams to the compute logs).
"""

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from connectors.warehouse.columns import quote_ident

COUNTED = {"table", "incremental", "seed", "snapshot"}


def _unique_id(event: Any) -> str | None:
    value = (getattr(event, "metadata", None) or {}).get("unique_id")
    return getattr(value, "text", value) if value is not None else None


def relation_metadata(conn: Any, node: Mapping[str, Any]) -> dict[str, Any]:
    """``dagster/column_schema`` and, for tables, ``dagster/row_count`` of one dbt node's relation."""
    schema, name = node["schema"], node.get("alias") or node["name"]
    cols = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    if not cols:
        return {}
    md: dict[str, Any] = {"dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in cols])}
    if node.get("config", {}).get("materialized", node.get("resource_type")) in COUNTED:
        (rows,) = conn.execute(f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(name)}").fetchone()
        md["dagster/row_count"] = dg.MetadataValue.int(int(rows))
    return md


def enrich(events: list[Any], manifest: Mapping[str, Any], path: Path) -> Iterator[Any]:
    """The events with table metadata added to each model/seed materialization (best effort: never fails a run)."""
    import duckdb

    nodes = manifest.get("nodes", {})
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        dg.get_dagster_logger().warning(f"table metadata skipped: cannot open {path.name} read-only ({exc})")
        yield from events
        return
    with conn:
        for event in events:
            node = nodes.get(_unique_id(event) or "")
            if node and isinstance(event, dg.Output | dg.AssetMaterialization):
                try:
                    extra = relation_metadata(conn, node)
                except duckdb.Error as exc:
                    dg.get_dagster_logger().warning(f"table metadata skipped for {node['name']}: {exc}")
                    extra = {}
                if extra:
                    event = event.with_metadata({**event.metadata, **extra})
            yield event


def collect(stream: Iterable[Any]) -> tuple[list[Any], BaseException | None]:
    """Every event of the stream, and the error that ended it (a failed dbt build still materialized some nodes)."""
    events: list[Any] = []
    try:
        events.extend(stream)
    except Exception as exc:
        return events, exc
    return events, None
