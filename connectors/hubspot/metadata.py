"""Owners, deal pipelines (flattened to pipelines + pipeline_stages) and property definitions, as Arrow tables."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from .client import HubSpotClient

OWNER_FIELDS = ("id", "email", "first_name", "last_name", "user_id", "user_id_including_inactive", "type",
                "created_at", "updated_at", "archived", "primary_team_id", "teams")
PIPELINE_FIELDS = ("id", "object_type", "pipeline_id", "label", "display_order", "archived", "created_at",
                   "updated_at")
STAGE_FIELDS = ("id", "object_type", "pipeline_id", "stage_id", "label", "display_order", "is_closed",
                "probability", "archived", "created_at", "updated_at", "metadata")
PROPERTY_FIELDS = ("id", "object_type", "name", "label", "type", "field_type", "group_name", "description",
                   "calculated", "hubspot_defined", "has_unique_value", "hidden", "archived", "options",
                   "created_at", "updated_at", "loaded")


def _t(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _table(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table({f: pa.array([_t(r.get(f)) for r in rows], pa.string()) for f in fields})


def fetch_owners(client: HubSpotClient) -> pa.Table:
    rows = []
    for archived in (False, True):
        after: str | None = None
        while True:
            body = client.owners_page(after, archived)
            for o in body.get("results") or []:
                teams = o.get("teams") or []
                primary = next((t.get("id") for t in teams if t.get("primary")), None)
                rows.append({"id": o.get("id"), "email": o.get("email"), "first_name": o.get("firstName"),
                             "last_name": o.get("lastName"), "user_id": o.get("userId"),
                             "user_id_including_inactive": o.get("userIdIncludingInactive"), "type": o.get("type"),
                             "created_at": o.get("createdAt"), "updated_at": o.get("updatedAt"),
                             "archived": bool(o.get("archived", archived)), "primary_team_id": primary,
                             "teams": teams})
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
    return _table(OWNER_FIELDS, rows)


def fetch_pipelines(client: HubSpotClient, object_type: str = "deals") -> tuple[pa.Table, pa.Table]:
    body = client.pipelines(object_type)
    pipelines, stages = [], []
    for p in body.get("results") or []:
        pid = str(p.get("id"))
        pipelines.append({"id": f"{object_type}:{pid}", "object_type": object_type, "pipeline_id": pid,
                          "label": p.get("label"), "display_order": p.get("displayOrder"),
                          "archived": bool(p.get("archived")), "created_at": p.get("createdAt"),
                          "updated_at": p.get("updatedAt")})
        for s in p.get("stages") or []:
            meta = s.get("metadata") or {}
            stages.append({"id": f"{object_type}:{pid}:{s.get('id')}", "object_type": object_type,
                           "pipeline_id": pid, "stage_id": s.get("id"), "label": s.get("label"),
                           "display_order": s.get("displayOrder"), "is_closed": meta.get("isClosed"),
                           "probability": meta.get("probability"), "archived": bool(s.get("archived")),
                           "created_at": s.get("createdAt"), "updated_at": s.get("updatedAt"), "metadata": meta})
    return _table(PIPELINE_FIELDS, pipelines), _table(STAGE_FIELDS, stages)


def fetch_property_definitions(client: HubSpotClient, object_type: str) -> list[dict[str, Any]]:
    return list(client.properties(object_type).get("results") or [])


def definitions_table(object_type: str, definitions: list[dict[str, Any]], refused: list[str]) -> pa.Table:
    refused_set = set(refused)
    rows = [{"id": f"{object_type}:{d.get('name')}", "object_type": object_type, "name": d.get("name"),
             "label": d.get("label"), "type": d.get("type"), "field_type": d.get("fieldType"),
             "group_name": d.get("groupName"), "description": d.get("description"),
             "calculated": bool(d.get("calculated")), "hubspot_defined": bool(d.get("hubspotDefined")),
             "has_unique_value": bool(d.get("hasUniqueValue")), "hidden": bool(d.get("hidden")),
             "archived": bool(d.get("archived")), "options": d.get("options") or [],
             "created_at": d.get("createdAt"), "updated_at": d.get("updatedAt"),
             "loaded": d.get("name") not in refused_set} for d in definitions]
    return _table(PROPERTY_FIELDS, rows)
