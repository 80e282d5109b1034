"""The HubSpot side of the raw layer (``connectors.warehouse.raw.RawWarehouse``): table names, column renames,
association replacement and the small metadata snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connectors.warehouse.columns import Column, hubspot_columns, quote_ident
from connectors.warehouse.raw import MergeCounts, RawWarehouse, association_table
from connectors.warehouse.state import StreamState

from .metadata import OWNER_FIELDS, PIPELINE_FIELDS, PROPERTY_FIELDS, STAGE_FIELDS

SOURCE = "hubspot"
MERGED_IDS = "hs_merged_object_ids"
MERGE_MAP_COLUMNS = [Column("merged_id", "VARCHAR", "merged_id"), Column("winner_id", "VARCHAR", "winner_id"),
                     Column("merged_at", "TIMESTAMPTZ", "merged_at")]
RENAMES = {"createdAt": "created_at", "updatedAt": "updated_at", "archivedAt": "archived_at"}
_TS = {"created_at", "updated_at", "archived_at"}
_BOOL = {"archived", "calculated", "hubspot_defined", "has_unique_value", "hidden", "loaded"}
_INT = {"display_order"}


def _meta_columns(fields: tuple[str, ...]) -> list[Column]:
    def t(f: str) -> str:
        return "TIMESTAMPTZ" if f in _TS else "BOOLEAN" if f in _BOOL else "BIGINT" if f in _INT else "VARCHAR"
    return [Column(f, t(f), f) for f in fields]


META_TABLES = {"owners": OWNER_FIELDS, "pipelines": PIPELINE_FIELDS, "pipeline_stages": STAGE_FIELDS,
               "properties": PROPERTY_FIELDS}


def merged_map_table(object_type: str) -> str:
    return f"{object_type}_merged_ids"


def merge_pairs(table: pa.Table) -> pa.Table | None:
    """(merged_id, winner_id, merged_at) from the winners' ``hs_merged_object_ids`` ("a;b"), or None: vectorised,
    and a batch without merges costs one null count."""
    if MERGED_IDS not in table.column_names:
        return None
    col = table.column(MERGED_IDS)
    if col.null_count == len(col):
        return None
    sub = table.filter(pc.fill_null(pc.not_equal(col, ""), False)).select(["id", MERGED_IDS, "updatedAt"])
    if not sub.num_rows:
        return None
    parts = pc.split_pattern(sub.column(MERGED_IDS).combine_chunks(), ";")
    parent = pc.list_parent_indices(parts)
    pairs = pa.table({"merged_id": pc.utf8_trim_whitespace(pc.list_flatten(parts)),
                      "winner_id": pc.take(sub.column("id"), parent),
                      "merged_at": pc.take(sub.column("updatedAt"), parent)})
    return pairs.filter(pc.not_equal(pairs.column("merged_id"), ""))


def to_raw(table: pa.Table) -> pa.Table:
    return table.rename_columns([RENAMES.get(c, c) for c in table.column_names])


class Landing:
    def __init__(self, warehouse: RawWarehouse) -> None:
        self.wh = warehouse
        self._snapshots: dict[tuple[str, str], datetime] = {}

    # -- state ---------------------------------------------------------------------------------
    def get_state(self, stream: str) -> StreamState:
        return self.wh.get_state(SOURCE, stream)

    def put_state(self, state: StreamState) -> None:
        self.wh.put_state(state)

    def record_run(self, result: Any, api_path: str) -> None:
        self.wh.record_run(uuid.uuid4().hex, SOURCE, result.object, status=result.status,
                           rows_inserted=result.rows_inserted, rows_updated=result.rows_updated,
                           rows_deleted=result.rows_deleted, api_calls=result.api_calls, api_path=api_path,
                           message=result.message or None)

    # -- objects -------------------------------------------------------------------------------
    def ensure_object_table(self, object_type: str, definitions: list[dict[str, Any]]
                            ) -> tuple[list[str], list[str], list[str], bool]:
        """(property names to read, refused names, added columns, table created now)."""
        columns, refused = hubspot_columns(definitions)
        changes = self.wh.ensure_table(SOURCE, object_type, columns, "id")
        created = any(c.change == "created" for c in changes)
        fixed = {"id", "created_at", "updated_at", "archived", "archived_at"}
        added = [c.column_name for c in changes if c.change in ("added", "restored") and c.column_name
                 and c.column_name not in fixed]
        props = [c.name for c in columns if c.name not in fixed]
        return props, refused, added, created

    def merge_object(self, object_type: str, table: pa.Table, state: StreamState | None) -> MergeCounts:
        return self.wh.merge(SOURCE, object_type, to_raw(table), primary_key="id", cursor_column="updated_at",
                             deleted_column="archived", deleted_at_column="archived_at", state=state)

    def backfill(self, object_type: str, table: pa.Table) -> MergeCounts:
        return self.wh.merge(SOURCE, object_type, to_raw(table), primary_key="id")

    def existing_ids(self, object_type: str, chunk: int, live_only: bool = False) -> Iterator[list[str]]:
        where = "WHERE NOT coalesce(_is_deleted, false)" if live_only else ""
        ids = self.wh.fetch_arrow(f"SELECT id FROM raw_hubspot.{quote_ident(object_type)} {where} "
                                  "ORDER BY id").column("id").to_pylist()
        for start in range(0, len(ids), chunk):
            yield ids[start:start + chunk]

    # -- merges and purges ----------------------------------------------------------------------
    def record_merges(self, object_type: str, table: pa.Table) -> int:
        """Land ``raw_hubspot.<type>_merged_ids`` (merged_id -> winner_id) from a batch; returns the pairs seen."""
        pairs = merge_pairs(table)
        if pairs is None or not pairs.num_rows:
            return 0
        self.wh.merge(SOURCE, merged_map_table(object_type), pairs, primary_key="merged_id",
                      cursor_column="merged_at", columns=MERGE_MAP_COLUMNS)
        return pairs.num_rows

    def flag_merged(self, object_type: str) -> int:
        """Flag live rows whose id was merged away (in the map) as deleted at the merge time."""
        name = merged_map_table(object_type)
        if not self.wh.table_exists(SOURCE, name):
            return 0
        gone = self.wh.fetch_arrow(
            f"SELECT m.merged_id, m.merged_at FROM raw_hubspot.{quote_ident(name)} m JOIN raw_hubspot."
            f"{quote_ident(object_type)} t ON t.id = m.merged_id WHERE NOT coalesce(t._is_deleted, false)")
        if not gone.num_rows:
            return 0
        return self.wh.flag_deleted(SOURCE, object_type, "id", gone.column("merged_id").to_pylist(),
                                    gone.column("merged_at").to_pylist())

    def reconcile_ids(self, object_type: str, present: pa.Array, now: datetime, state: StreamState,
                      loaded_before: datetime) -> int:
        """Flag rows whose id the API no longer returns (purged, GDPR-deleted, merged away) as deleted."""
        return self.wh.flag_missing_as_deleted(SOURCE, object_type, "id", present, now, state=state,
                                               only_loaded_before=loaded_before)

    # -- associations --------------------------------------------------------------------------
    def replace_associations(self, from_type: str, to_type: str, from_ids: list[str], rows: pa.Table) -> MergeCounts:
        """Merge the complete association set of ``from_ids``; their rows not in ``rows`` are flagged deleted."""
        return self.wh.merge_associations(from_type, to_type, rows, snapshot_from_ids=from_ids)

    def begin_association_snapshot(self, from_type: str, to_type: str) -> None:
        self.wh.ensure_association_table(from_type, to_type)

    def end_association_snapshot(self, from_type: str, to_type: str, now: datetime) -> int:
        """Associations of from-records that are gone (archived, deleted) are flagged deleted."""
        live = self.wh.fetch_arrow(f"SELECT id FROM raw_hubspot.{quote_ident(from_type)} "
                                   "WHERE NOT coalesce(_is_deleted, false)").column("id")
        return self.wh.flag_missing_as_deleted(SOURCE, association_table(from_type, to_type), "from_id", live, now,
                                               allow_empty=True)

    # -- metadata ------------------------------------------------------------------------------
    def merge_definitions(self, object_type: str, table: pa.Table) -> MergeCounts:
        self.wh.ensure_table(SOURCE, "properties", _meta_columns(PROPERTY_FIELDS), "id")
        return self.wh.merge(SOURCE, "properties", table, primary_key="id", cursor_column=None)

    def snapshot_table(self, name: str, table: pa.Table, now: datetime) -> tuple[MergeCounts, int]:
        """A full snapshot of a small table: merge everything, flag rows no longer present."""
        self.wh.ensure_table(SOURCE, name, _meta_columns(META_TABLES[name]), "id")
        counts = self.wh.merge(SOURCE, name, table, primary_key="id", cursor_column=None)
        deleted = self.wh.flag_missing_as_deleted(SOURCE, name, "id", table.column("id"), now, allow_empty=True)
        return counts, deleted
