"""Associations v4: batch read of (from ids) -> rows ``from_id, to_id, type_id, category, label``.

Per-input paging is followed until every from id in a group is complete, so a yielded group holds all
current associations of its ids (the caller replaces those ids' rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from .client import HubSpotClient
from .errors import ApiError

ASSOC_SCHEMA = pa.schema([("from_id", pa.string()), ("to_id", pa.string()), ("type_id", pa.int64()),
                          ("category", pa.string()), ("label", pa.string())])


def assoc_table_name(from_type: str, to_type: str) -> str:
    return f"assoc_{from_type}__{to_type}"


def read_group(client: HubSpotClient, from_type: str, to_type: str, ids: list[str]) -> pa.Table:
    """All associations of ``ids`` (at most ``association_batch_size``) as one table."""
    rows: dict[str, list[Any]] = {name: [] for name in ASSOC_SCHEMA.names}
    pending: list[dict[str, str]] = [{"id": i} for i in ids]
    seen: set[tuple[str, str]] = set()
    size = client.config.association_batch_size
    while pending:
        batch, pending = pending[:size], pending[size:]
        body = client.associations_page(from_type, to_type, batch)
        for err in body.get("errors") or []:
            if err.get("category") != "OBJECT_NOT_FOUND":  # "no associations" is not an error for us
                raise ApiError("associations.batch_read", 207, str(err.get("message"))[:300], err.get("category"))
        for result in body.get("results") or []:
            from_id = str((result.get("from") or {}).get("id"))
            for target in result.get("to") or []:
                for t in target.get("associationTypes") or []:
                    rows["from_id"].append(from_id)
                    rows["to_id"].append(str(target.get("toObjectId")))
                    rows["type_id"].append(int(t.get("typeId")))
                    rows["category"].append(t.get("category"))
                    rows["label"].append(t.get("label"))
            nxt = ((result.get("paging") or {}).get("next") or {}).get("after")
            if nxt:
                key = (from_id, str(nxt))
                if key in seen:
                    raise ApiError("associations.batch_read", None, f"paging cursor repeated for {from_id}")
                seen.add(key)
                pending.append({"id": from_id, "after": str(nxt)})
    return pa.table(rows, schema=ASSOC_SCHEMA)


def iter_associations(client: HubSpotClient, from_type: str, to_type: str,
                      ids: list[str]) -> Iterator[tuple[list[str], pa.Table]]:
    size = client.config.association_batch_size
    for start in range(0, len(ids), size):
        group = ids[start:start + size]
        yield group, read_group(client, from_type, to_type, group)
