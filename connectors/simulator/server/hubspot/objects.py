"""CRM v3 object reads (list pages, single records, batch reads), rendered as HubSpot sends them.

Records come from ``hs."<type>"``: base columns plus one VARCHAR per property holding the wire
string, so rendering never converts values. ``hs_object_id``, the created property (``createdate``,
``hs_createdate`` on engagements) and the last-modified property are always present; they fall back
to the base columns when a dataset does not store them as properties.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import duckdb

from ...dataset.store import HS_BASE_COLUMNS, HS_SCHEMA, Dataset, quote_ident
from ..http import HttpError
from .keyset import KeysetCache

# Object type ids and singular names HubSpot accepts in place of the plural type name.
TYPE_ALIASES = {
    "0-1": "contacts", "contact": "contacts",
    "0-2": "companies", "company": "companies",
    "0-3": "deals", "deal": "deals",
    "0-5": "tickets", "ticket": "tickets",
    "0-7": "products", "product": "products",
    "0-8": "line_items", "line_item": "line_items", "lineitem": "line_items", "lineitems": "line_items",
    "0-27": "tasks", "task": "tasks",
    "0-46": "notes", "note": "notes",
    "0-47": "meetings", "meeting": "meetings",
    "0-48": "calls", "call": "calls",
    "0-49": "emails", "email": "emails",
}
STANDARD_TYPES = frozenset(TYPE_ALIASES.values())
SINGULAR = {
    "companies": "company", "contacts": "contact", "deals": "deal", "tickets": "ticket", "products": "product",
    "line_items": "line_item", "tasks": "task", "notes": "note", "meetings": "meeting", "calls": "call",
    "emails": "email",
}
# Default properties when a request names none (B4; the companies/deals lists are [U]).
DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline"],
}
ID_ORDER = "TRY_CAST(id AS BIGINT), id"
MERGED_IDS = "hs_merged_object_ids"  # winners list the ids merged into them, semicolon-separated
WIDE_READ = 200  # stored properties beyond which a sorted page is read in two steps (see ObjectStore._fetch_wide)
# Timestamps leave DuckDB as wire text (hs_format_datetime's format); aliases that no ORDER BY can mistake for
# the columns.
_WIRE = "'%Y-%m-%dT%H:%M:%S.%gZ'"
BASE_SELECT = (f'id, strftime("createdAt", {_WIRE}) AS "__wire_created", strftime("updatedAt", {_WIRE}) AS '
               f'"__wire_updated", archived, strftime("archivedAt", {_WIRE}) AS "__wire_archived"')


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def last_modified_property(object_type: str) -> str:
    """Contacts carry ``lastmodifieddate``; every other type ``hs_lastmodifieddate`` (trap 15)."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


ENGAGEMENT_TYPES = frozenset({"calls", "emails", "meetings", "notes", "tasks", "communications", "postal_mail"})


def created_property(object_type: str) -> str:
    """Engagements carry ``hs_createdate``; the other standard types ``createdate``."""
    return "hs_createdate" if object_type in ENGAGEMENT_TYPES else "createdate"


def always_present(object_type: str) -> list[str]:
    return [created_property(object_type), last_modified_property(object_type), "hs_object_id"]


def derived_columns(object_type: str) -> dict[str, str]:
    """Always-present properties -> the base column that stands in when the property is not stored."""
    return {created_property(object_type): '"createdAt"', last_modified_property(object_type): '"updatedAt"'}


def singular(object_type: str) -> str:
    return SINGULAR.get(object_type, object_type)


def parse_bool(value: str | None, default: bool = False) -> bool:
    """The client sends ``str(bool)`` (``True``/``False``); HubSpot's docs use ``true``/``false``."""
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise HttpError(400, "VALIDATION_ERROR", f"Invalid boolean value {value!r}")


def parse_limit(value: str | int | None, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError) as exc:
        raise HttpError(400, "VALIDATION_ERROR", f"Invalid limit {value!r}: expected an integer") from exc
    if limit < 1 or limit > maximum:
        raise HttpError(400, "VALIDATION_ERROR", f"limit must be between 1 and {maximum}; got {limit}")
    return limit


def encode_cursor(last_id: str) -> str:
    return base64.b64encode(last_id.encode()).decode()


def decode_cursor(after: str) -> int:
    """The numeric id a list page resumes after; a tampered cursor is a 400 as on HubSpot."""
    try:
        return int(base64.b64decode(after.encode(), validate=True).decode().strip())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, "VALIDATION_ERROR", f"Invalid paging cursor after={after!r}") from exc


@dataclass
class ObjectType:
    name: str
    table: str
    columns: list[str]  # stored property columns
    exists: bool  # a standard type without a table is served as an empty portal

    def has(self, prop: str) -> bool:
        return prop in self.columns


class ObjectStore:
    """Reads HubSpot objects out of the dataset and renders them in the v3 record shape."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.keysets = KeysetCache()
        self._resolved: dict[str, ObjectType] = {}  # raw type name -> its last resolution (checked on use)

    # -- types ---------------------------------------------------------------------------------
    def resolve(self, raw: str) -> ObjectType:
        cached = self._resolved.get(raw)
        if cached is not None and self._columns_now(cached.name) == cached.columns:
            return cached  # the table is still there with the same columns: same answer as below
        name = TYPE_ALIASES.get(raw.lower(), raw.lower())
        present = set(self._object_types())
        if name not in present and raw in present:
            name = raw  # custom types keep their exact spelling
        if name in present:
            ot = ObjectType(name, Dataset.hs_table(name), self._property_names(name), True)
            self._resolved[raw] = ot
            return ot
        self._resolved.pop(raw, None)
        if name in STANDARD_TYPES:
            return ObjectType(name, Dataset.hs_table(name), [], False)
        raise HttpError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")

    def _columns_now(self, object_type: str) -> list[str] | None:
        """Property columns of a table, or None when it is gone (a cheap check: no catalog scan)."""
        try:
            return self._property_names(object_type)
        except duckdb.CatalogException:
            return None

    # Same answers as Dataset.hs_object_types / hs_property_names, from duckdb_tables() / duckdb_columns():
    # information_schema's views cost several ms per request, and every request resolves its type.
    def _object_types(self) -> list[str]:
        with self.dataset.reading() as cur:
            rows = cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name <> 'associations' ORDER BY 1",
                [HS_SCHEMA],
            ).fetchall()
        return [r[0] for r in rows]

    def _property_names(self, object_type: str) -> list[str]:
        with self.dataset.reading() as cur:  # an empty read's description is the table's columns, in order
            names = [d[0] for d in cur.execute(f"SELECT * FROM {Dataset.hs_table(object_type)} LIMIT 0").description]
        return [n for n in names if n not in HS_BASE_COLUMNS]

    def output_properties(self, ot: ObjectType, requested: list[str]) -> list[str]:
        """Requested names that exist (unknown ones are silently ignored) plus the always-present trio."""
        wanted = requested or DEFAULT_PROPERTIES.get(ot.name, [])
        out = [p for p in dict.fromkeys(wanted) if ot.has(p)]
        out.extend(p for p in always_present(ot.name) if p not in out)
        return out

    # -- reads ---------------------------------------------------------------------------------
    def fetch(self, cur: duckdb.DuckDBPyConnection, ot: ObjectType, props: list[str], where: str = "TRUE",
              params: list[Any] | None = None, order: str = ID_ORDER, limit: int | None = None,
              offset: int | None = None) -> list[dict[str, Any]]:
        if not ot.exists:
            return []
        stored, cols = self._columns(ot, props)
        if len(stored) > WIDE_READ and (limit is not None or offset):
            return self._fetch_wide(cur, ot, props, stored, cols, where, params, order, limit, offset)
        sql = f"SELECT {cols} FROM {ot.table} WHERE {where} ORDER BY {order}"
        args = list(params or [])
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        if offset:
            sql += " OFFSET ?"
            args.append(offset)
        rows = cur.execute(sql, args).fetchall()
        return [self.render(ot, props, stored, row) for row in rows]

    def _fetch_wide(self, cur: duckdb.DuckDBPyConnection, ot: ObjectType, props: list[str], stored: list[str],
                    cols: str, where: str, params: list[Any] | None, order: str, limit: int | None,
                    offset: int | None) -> list[dict[str, Any]]:
        """Sort rowids only, then read the page's wide rows by rowid: sorting 1,000+ text columns would need
        hundreds of MiB of sort buffers for a handful of rows."""
        sql = f"SELECT rowid FROM {ot.table} WHERE {where} ORDER BY {order}"
        args = list(params or [])
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        if offset:
            sql += " OFFSET ?"
            args.append(offset)
        rowids = [r[0] for r in cur.execute(sql, args).fetchall()]
        if not rowids:
            return []
        rows = cur.execute(f"SELECT rowid, {cols} FROM {ot.table} WHERE rowid IN (SELECT unnest(?::BIGINT[]))",
                           [rowids]).fetchall()
        by_rowid = {r[0]: r[1:] for r in rows}
        return [self.render(ot, props, stored, by_rowid[r]) for r in rowids if r in by_rowid]

    @staticmethod
    def _columns(ot: ObjectType, props: list[str]) -> tuple[list[str], str]:
        """The stored properties among ``props`` and the select list (base columns, then those)."""
        stored = [p for p in props if ot.has(p)]
        return stored, BASE_SELECT + "".join(f", {quote_ident(p)}" for p in stored)

    def render(self, ot: ObjectType, props: list[str], stored: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
        rec_id, created, updated, archived, archived_at, *values = row
        stored_values = dict(zip(stored, values, strict=True))
        derived = {
            "hs_object_id": rec_id,
            created_property(ot.name): created,
            last_modified_property(ot.name): updated,
        }
        properties = {}
        for p in props:
            if p == "hs_object_id":
                properties[p] = rec_id
            elif p in stored_values:
                value = stored_values[p]
                properties[p] = derived.get(p) if value is None and p in derived else value
            else:
                properties[p] = derived.get(p)
        rec: dict[str, Any] = {
            "id": rec_id,
            "properties": properties,
            "createdAt": created,
            "updatedAt": updated,
            "archived": bool(archived),
        }
        if archived and archived_at is not None:
            rec["archivedAt"] = archived_at
        return rec

    def list_page(self, ot: ObjectType, props: list[str], limit: int, after: str | None, archived: bool,
                  as_json: bool = False) -> tuple[list[Any], str | None]:
        """One page ordered by numeric id, and the cursor of the next page (None on the last page).

        Records are dicts, or with ``as_json`` ``(id, record JSON text)`` pairs rendered by DuckDB (the hot path:
        no Python per property).
        """
        resume = decode_cursor(after) if after else None
        with self.dataset.reading() as cur:
            rows = self._page_rows(cur, ot, props, limit + 1, resume, archived, as_json)
        if len(rows) > limit:
            rows = rows[:limit]
            return rows, encode_cursor(rows[-1][0] if as_json else rows[-1]["id"])
        return rows, None

    def _page_rows(self, cur: duckdb.DuckDBPyConnection, ot: ObjectType, props: list[str], want: int,
                   resume: int | None, archived: bool, as_json: bool) -> list[Any]:
        if not ot.exists:
            return []
        stored, cols = self._columns(ot, props)
        select = f"id, {self._json_record(ot, props)}" if as_json else cols

        def read(lo: int, hi: int, rowids: list[int] | None) -> list[tuple[Any, ...]]:
            where, params = "rowid BETWEEN ? AND ? AND archived = ?", [lo, hi, archived]
            if rowids is not None:
                where += " AND rowid IN (SELECT unnest(?::BIGINT[]))"
                params.append(rowids)
            return cur.execute(f"SELECT rowid, {select} FROM {ot.table} WHERE {where}", params).fetchall()

        raw = self.keysets.page(cur, ot.table, resume, archived, want, read)
        if raw is None:  # the keyset cache cannot answer: sort the table
            where, params = "archived = ?", [archived]
            if resume is not None:
                where += " AND TRY_CAST(id AS BIGINT) > ?"
                params.append(resume)
            raw = cur.execute(f"SELECT NULL, {select} FROM {ot.table} WHERE {where} ORDER BY {ID_ORDER} LIMIT ?",
                              [*params, want]).fetchall()
        if as_json:
            return [(row[1], row[2]) for row in raw]
        return [self.render(ot, props, stored, row[1:]) for row in raw]

    @staticmethod
    def _json_record(ot: ObjectType, props: list[str]) -> str:
        """SQL for one record's JSON text, exactly what :meth:`render` + ``json.dumps`` would produce."""
        created, updated = f'strftime("createdAt", {_WIRE})', f'strftime("updatedAt", {_WIRE})'
        derived = {created_property(ot.name): created, last_modified_property(ot.name): updated}
        parts = []
        for p in props:
            if p == "hs_object_id":
                expr = "id"
            elif ot.has(p):
                expr = f"coalesce({quote_ident(p)}, {derived[p]})" if p in derived else quote_ident(p)
            else:
                expr = derived.get(p, "NULL")
            parts.append(f"{_sql_text(p)}, {expr}")
        base = (f"'id', id, 'properties', json_object({', '.join(parts)}), 'createdAt', {created}, "
                f"'updatedAt', {updated}, 'archived', coalesce(archived, false)")
        return (f'CASE WHEN archived AND "archivedAt" IS NOT NULL THEN json_object({base}, \'archivedAt\', '
                f'strftime("archivedAt", {_WIRE})) ELSE json_object({base}) END')

    def merged_winners(self, ot: ObjectType, ids: list[str], archived: bool = False) -> dict[str, str]:
        """Merged-away (loser) id -> the id of the record it was merged into (``hs_merged_object_ids``)."""
        if not ids or not ot.exists or not ot.has(MERGED_IDS):
            return {}
        with self.dataset.reading() as cur:
            rows = cur.execute(
                f"SELECT m, id FROM (SELECT id, unnest(string_split({MERGED_IDS}, ';')) AS m FROM {ot.table} "
                f"WHERE {MERGED_IDS} IS NOT NULL AND archived = ?) WHERE m IN (SELECT unnest(?::VARCHAR[]))",
                [archived, ids]).fetchall()
        return {str(m): str(w) for m, w in rows}

    def read_ids(self, ot: ObjectType, props: list[str], ids: list[str], archived: bool,
                 id_property: str | None = None) -> list[dict[str, Any]]:
        """Records whose id (or ``id_property``) is in ``ids``, in numeric id order. A merged-away id reads as the
        record it was merged into (as on HubSpot)."""
        if not ids:
            return []
        column = "id"
        if id_property and id_property != "hs_object_id":
            if not ot.has(id_property):
                raise HttpError(400, "VALIDATION_ERROR", f"Property {id_property!r} does not exist on {ot.name}")
            column = quote_ident(id_property)
        elif ot.has(MERGED_IDS):
            ids = list(dict.fromkeys([*ids, *self.merged_winners(ot, ids, archived).values()]))
        marks = ", ".join("?" for _ in ids)
        with self.dataset.reading() as cur:
            return self.fetch(cur, ot, props, f"{column} IN ({marks}) AND archived = ?", [*ids, archived])
