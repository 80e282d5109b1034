"""Associations: the v4 batch read and the ``associations`` block of v3 object reads.

``hs."associations"`` stores one row per (from, to, association type) in each direction the API
answers; both shapes serve exactly those rows, never inferring the reverse direction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import duckdb

from ...dataset.store import HS_SCHEMA, hs_format_datetime
from ..http import HttpError
from .assoc_index import ORDER, AssociationIndex
from .objects import decode_cursor, encode_cursor, singular

MAX_INPUTS = 1000  # [U] per B5
PAGE_SIZE = 500  # `to` entries per from-record before per-record paging kicks in

Row = tuple[str, str, str, int, str | None]  # from_id, to_id, category, type_id, label


def _rows(cur: duckdb.DuckDBPyConnection, from_type: str, to_type: str, ids: list[str],
          index: AssociationIndex | None = None) -> list[Row]:
    if not ids:
        return []
    if index is not None:
        rows = index.rows(cur, from_type, to_type, ids)
        if rows is not None:
            return rows
    marks = ", ".join("?" for _ in ids)
    return cur.execute(
        f"SELECT from_id, to_id, category, type_id, label FROM {HS_SCHEMA}.associations "
        f"WHERE from_type = ? AND to_type = ? AND from_id IN ({marks}) "
        f"ORDER BY {ORDER}",
        [from_type, to_type, *ids],
    ).fetchall()


def _wire_id(value: str) -> int | str:
    """``toObjectId`` is a number on the wire (trap 19)."""
    try:
        return int(value)
    except ValueError:
        return value


def _grouped(rows: list[Row]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """from_id -> to_id -> associationTypes, keeping the query's to_id order."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for from_id, to_id, category, type_id, label in rows:
        out[from_id].setdefault(to_id, []).append({"category": category, "typeId": type_id, "label": label})
    return out


def batch_read(cur: duckdb.DuckDBPyConnection, from_type: str, to_type: str, body: Any,
               report_missing: bool, index: AssociationIndex | None = None) -> tuple[int, dict[str, Any]]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``: the status code and the body."""
    started = datetime.now(UTC)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise HttpError(400, "VALIDATION_ERROR", "Invalid input JSON: 'inputs' must be a list")
    if len(inputs) > MAX_INPUTS:
        raise HttpError(400, "VALIDATION_ERROR",
                        f"Too many inputs: {len(inputs)} were sent, the maximum is {MAX_INPUTS}")
    wanted: list[tuple[str, str | None]] = []
    for item in inputs:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise HttpError(400, "VALIDATION_ERROR", "Invalid input JSON: every input needs an 'id'")
        wanted.append((str(item["id"]), item.get("after")))
    grouped = _grouped(_rows(cur, from_type, to_type, list(dict.fromkeys(i for i, _ in wanted)), index))
    results, missing = [], []
    for from_id, after in wanted:
        targets = grouped.get(from_id)
        if not targets:
            missing.append(from_id)
            continue
        to_ids = list(targets)
        if after:
            resume = decode_cursor(after)
            to_ids = [t for t in to_ids if isinstance(_wire_id(t), int) and int(t) > resume]
        page = to_ids[:PAGE_SIZE]
        entry: dict[str, Any] = {
            "from": {"id": from_id},
            "to": [{"toObjectId": _wire_id(t), "associationTypes": targets[t]} for t in page],
        }
        if len(to_ids) > PAGE_SIZE:
            entry["paging"] = {"next": {"after": encode_cursor(page[-1]), "link": None}}
        results.append(entry)
    status = 200
    out: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if missing and report_missing:
        status = 207
        out["numErrors"] = len(missing)
        out["errors"] = [{
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {singular(to_type)} is associated with {singular(from_type)} {from_id}.",
            "context": {"fromObjectId": [from_id]},
            "errors": [],
        } for from_id in missing]
    now = hs_format_datetime(datetime.now(UTC))
    out.update({"requestedAt": hs_format_datetime(started), "startedAt": hs_format_datetime(started),
                "completedAt": now, "links": {}})
    return status, out


def _v3_type_name(from_type: str, to_type: str, category: str, label: str | None, has_primary: bool) -> str:
    """v3 names: primary -> ``contact_to_company``, default beside a primary -> ``..._unlabeled``,
    custom labels by their label [U]."""
    base = f"{singular(from_type)}_to_{singular(to_type)}"
    if category != "HUBSPOT_DEFINED":
        return (label or base).strip().lower().replace(" ", "_")
    if label is None and has_primary:
        return f"{base}_unlabeled"
    return base


def v3_associations(cur: duckdb.DuckDBPyConnection, from_type: str, to_types: list[str],
                    ids: list[str]) -> dict[str, dict[str, Any]]:
    """record id -> ``{"<to_type>": {"results": [{"id", "type"}]}}``; records without links get nothing."""
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for to_type in dict.fromkeys(to_types):
        for from_id, targets in _grouped(_rows(cur, from_type, to_type, ids)).items():
            results = []
            for to_id, types in targets.items():
                has_primary = any(t["category"] == "HUBSPOT_DEFINED" and t["label"] for t in types)
                for t in types:
                    name = _v3_type_name(from_type, to_type, t["category"], t["label"], has_primary)
                    results.append({"id": to_id, "type": name})
            out[from_id][to_type] = {"results": results}
    return out
