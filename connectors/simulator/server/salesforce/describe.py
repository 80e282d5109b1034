"""Describe documents in the REST API's shapes (crm_api_wire §A5), built from the dataset's describes."""

from __future__ import annotations

from typing import Any

_SOBJECT_FLAGS: dict[str, Any] = {
    "activateable": False, "createable": True, "custom": False, "customSetting": False, "deletable": True,
    "deprecatedAndHidden": False, "feedEnabled": False, "layoutable": True, "mergeable": False,
    "mruEnabled": True, "queryable": True, "replicateable": True, "retrieveable": True, "searchable": True,
    "triggerable": True, "undeletable": True, "updateable": True,
}


def urls(obj: str, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def sobject_entry(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """One entry of the global describe's ``sobjects`` list."""
    name = doc["name"]
    entry: dict[str, Any] = {
        "name": name,
        "label": doc.get("label", name),
        "labelPlural": doc.get("labelPlural", doc.get("label", name) + "s"),
        "keyPrefix": doc.get("keyPrefix"),
    }
    for flag, default in _SOBJECT_FLAGS.items():
        entry[flag] = doc.get(flag, name.endswith("__c") if flag == "custom" else default)
    entry["urls"] = urls(name, version)
    return entry


def global_describe(describes: dict[str, dict[str, Any]], version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [sobject_entry(describes[o], version) for o in sorted(describes)],
    }


def object_describe(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """The full describe (``/sobjects/{Obj}/describe``) with URLs for the requested API version."""
    out = {**sobject_entry(doc, version), **doc}
    out.setdefault("childRelationships", [])
    out.setdefault("recordTypeInfos", [])
    out["urls"] = urls(doc["name"], version)
    return out


def object_metadata(doc: dict[str, Any], version: str) -> dict[str, Any]:
    """The basic information of ``/sobjects/{Obj}/``: its global-describe entry and recent items."""
    return {"objectDescribe": sobject_entry(doc, version), "recentItems": []}
