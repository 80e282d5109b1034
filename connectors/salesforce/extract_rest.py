"""REST ``queryAll`` extraction: pages of JSON records -> pyarrow Tables of text keyed by API field name.

Values are rendered as the text Bulk API 2.0 would give (``true``/``false``, plain decimals, ISO datetimes
with ``Z``; empty strings are null, as Bulk cannot tell them apart), so both paths land identical tables.
Each page is fetched and validated inside one retried call: a ``done:false`` page without
``nextRecordsUrl`` or a truncated body is retried, never taken as the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from .client import SalesforceClient
from .errors import IncompletePage

NUMERIC_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
MAX_REST_BATCH = 2000


def text_value(value: Any, sf_type: str) -> str | None:
    """One JSON value as text (None for null and empty strings)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float):
        return plain_number(str(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value == "":
            return None
        if sf_type == "datetime" and value.endswith("+0000"):
            return value[:-5] + "Z"
        if sf_type in NUMERIC_TYPES:
            return plain_number(value)
        return value
    return str(value)  # nested values (never selected: compound fields are skipped)


def plain_number(text: str) -> str:
    """``1E+16`` -> ``10000000000000000`` (DECIMAL casts reject exponents); other text unchanged."""
    if "e" in text or "E" in text:
        try:
            return format(Decimal(text), "f")
        except ArithmeticError:
            return text
    return text


def _column(values: list[Any], sf_type: str) -> list[str | None]:
    """``text_value`` over one column; non-empty strings of non-datetime, non-numeric fields pass through as is."""
    if sf_type == "datetime" or sf_type in NUMERIC_TYPES:
        return [text_value(v, sf_type) for v in values]
    return [(v or None) if v.__class__ is str else text_value(v, sf_type) for v in values]


def records_to_table(records: Sequence[dict[str, Any]], fields: Sequence[tuple[str, str]]) -> pa.Table:
    """``fields`` = (API name, describe type) pairs; every column is ``string``."""
    columns = {
        name: pa.array(_column([r.get(name) for r in records], sf_type), pa.string()) for name, sf_type in fields
    }
    return pa.table(columns, schema=pa.schema([(name, pa.string()) for name, _ in fields]))


def _checked(page: Any) -> dict[str, Any]:
    if not isinstance(page, dict) or not isinstance(page.get("records"), list) or "done" not in page:
        raise IncompletePage("query page without records/done")
    if not page["done"] and not page.get("nextRecordsUrl"):
        raise IncompletePage("query page says done:false but has no nextRecordsUrl")
    return page


def iter_rest_pages(client: SalesforceClient, obj: str, soql: str, fields: Sequence[tuple[str, str]],
                    batch_size: int = MAX_REST_BATCH) -> Iterator[pa.Table]:
    """Yield one Table per REST page of ``queryAll(soql)``; raises QueryLocatorExpired for the caller to restart."""
    headers = {"Sforce-Query-Options": f"batchSize={max(200, min(MAX_REST_BATCH, batch_size))}"}
    sf = client.sf
    page = client.call(f"{obj} query", lambda: _checked(
        sf.query(soql, include_deleted=True, headers=headers, timeout=client.timeout)))
    while True:
        yield records_to_table(page["records"], fields)
        if page["done"]:
            return
        url = page["nextRecordsUrl"]
        page = client.call(f"{obj} query_more", lambda url=url: _checked(
            sf.query_more(url, identifier_is_url=True, headers=headers, timeout=client.timeout)))


def rest_count(client: SalesforceClient, obj: str, soql: str) -> int:
    """``totalSize`` of a ``SELECT COUNT()`` queryAll."""
    page = client.call(f"{obj} count", lambda: _checked(
        client.sf.query(soql, include_deleted=True, timeout=client.timeout)))
    return int(page["totalSize"])
