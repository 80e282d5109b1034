"""Owners, pipelines and property definitions: small in-memory documents served as HubSpot shapes."""

from __future__ import annotations

from typing import Any

from ...dataset.store import Dataset
from ..http import HttpError
from .objects import decode_cursor, encode_cursor, parse_bool, parse_limit

OWNERS_MAX_LIMIT = 500  # [U] B7


def _wire_strings(metadata: Any) -> dict[str, str]:
    """Stage metadata is ``dict[str, str]`` on the wire: ``"0.2"``, ``"false"`` (trap 14)."""
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _stage(stage: dict[str, Any]) -> dict[str, Any]:
    return {**stage, "metadata": _wire_strings(stage.get("metadata"))}


def _pipeline(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {**pipeline, "stages": [_stage(s) for s in pipeline.get("stages", [])]}


def _owner_key(owner: dict[str, Any]) -> int:
    try:
        return int(owner["id"])
    except (KeyError, TypeError, ValueError):
        return 0


class Metadata:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    # -- owners --------------------------------------------------------------------------------
    def owners_page(self, limit: str | None, after: str | None, email: str | None,
                    archived: str | None) -> dict[str, Any]:
        size = parse_limit(limit, 100, OWNERS_MAX_LIMIT)
        want_archived = parse_bool(archived)
        owners = sorted((o for o in self.dataset.hs_owners if bool(o.get("archived", False)) == want_archived),
                        key=_owner_key)
        if email:
            owners = [o for o in owners if str(o.get("email", "")).lower() == email.lower()]
        if after:
            resume = decode_cursor(after)
            owners = [o for o in owners if _owner_key(o) > resume]
        page = owners[:size]
        out: dict[str, Any] = {"results": page}
        if len(owners) > size:  # paging omitted on the last page (trap 13)
            out["paging"] = {"next": {"after": encode_cursor(str(page[-1]["id"])), "link": None}}
        return out

    def owner(self, owner_id: str, id_property: str | None, archived: str | None) -> dict[str, Any]:
        field = "userId" if (id_property or "id") == "userId" else "id"
        want_archived = parse_bool(archived)
        for owner in self.dataset.hs_owners:
            if str(owner.get(field)) == owner_id and bool(owner.get("archived", False)) == want_archived:
                return owner
        raise HttpError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found (idProperty={field})")

    # -- pipelines -----------------------------------------------------------------------------
    def pipelines(self, object_type: str) -> dict[str, Any]:
        return {"results": [_pipeline(p) for p in self.dataset.hs_pipelines.get(object_type, [])]}

    def pipeline(self, object_type: str, pipeline_id: str) -> dict[str, Any]:
        for p in self.dataset.hs_pipelines.get(object_type, []):
            if str(p.get("id")) == pipeline_id:
                return _pipeline(p)
        raise HttpError(404, "OBJECT_NOT_FOUND", f"Pipeline {pipeline_id} of {object_type} does not exist")

    def stages(self, object_type: str, pipeline_id: str) -> dict[str, Any]:
        return {"results": self.pipeline(object_type, pipeline_id)["stages"]}

    # -- properties ----------------------------------------------------------------------------
    def properties(self, object_type: str, archived: str | None) -> dict[str, Any]:
        want_archived = parse_bool(archived)
        defs = self.dataset.hs_properties.get(object_type, [])
        return {"results": [d for d in defs if bool(d.get("archived", False)) == want_archived]}

    def property(self, object_type: str, name: str) -> dict[str, Any]:
        for d in self.dataset.hs_properties.get(object_type, []):
            if d.get("name") == name:
                return d
        raise HttpError(404, "OBJECT_NOT_FOUND", f"Property {name} does not exist on {object_type}")
