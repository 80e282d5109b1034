"""Column types for raw tables, derived from Salesforce describe and HubSpot property definitions.

Identifiers
    Every API name (object, field, property) passes :func:`validate_identifier` before it is used in SQL:
    ASCII ``^[A-Za-z][A-Za-z0-9_]{0,254}$`` only. Hostile names (quotes, spaces, ``;``, unicode lookalikes such
    as a Cyrillic ``А``) raise :class:`HostileIdentifierError`; the ``*_columns`` functions skip them and return
    them in ``refused`` so the extractor never selects them. Identifiers are double-quoted in SQL anyway
    (:func:`quote_ident`). DuckDB identifiers are case-insensitive, so two names equal case-insensitively
    (``Foo__c`` / ``foo__c``) are an error, never a silent overwrite.

Values
    Staged values are text (``raw.RawWarehouse`` turns JSON-native REST values into their canonical text
    first), so a record loaded over REST and the same record loaded from Bulk CSV become byte-identical rows.
    :func:`cast_sql` turns that text into the column type with ``CAST`` (never ``TRY_CAST``): a value that does
    not convert is an error, not a NULL.

    **Empty string is NULL**, for every type including text: Salesforce REST never returns ``""`` (it returns
    ``null``) and Bulk CSV cannot tell null from ``""``, HubSpot returns ``""`` for cleared properties on some
    endpoints and ``null`` on others. Mapping ``""`` to NULL everywhere makes every API path agree.

    * ``DECIMAL(p,s)``: decimal text (``"1234.56"``, ``"1e+15"``); rounding to the scale is DuckDB's
      (half away from zero: ``0.005`` -> ``0.01``); overflow of the precision is an error.
    * ``BIGINT``: integer text; ``"42.0"`` is accepted, ``"42.5"`` is an error (DuckDB would round it).
    * ``TIMESTAMPTZ``: ISO-8601 with ``Z``, ``+0000``, ``+00:00`` or no offset (= UTC), or epoch milliseconds
      (HubSpot, ``"1704067200000"``).
    * ``DATE``: ``YYYY-MM-DD`` or epoch milliseconds (HubSpot date properties, midnight UTC).
    * ``BOOLEAN``: ``true``/``false`` (any case; DuckDB also accepts ``t``/``f``/``1``/``0``).
    * ``VARCHAR[]``: ``;``-separated text (Salesforce multipicklist, HubSpot multi-checkbox).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Column",
    "HostileIdentifierError",
    "cast_sql",
    "check_collisions",
    "hubspot_columns",
    "normalize_type",
    "quote_ident",
    "salesforce_columns",
    "try_cast_sql",
    "validate_identifier",
]

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}", re.ASCII)
_SF_COMPOUND = {"address", "location"}
_SF_NUMERIC = {"currency", "percent", "double"}
_DEFAULT_DECIMAL = "DECIMAL(38,9)"
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_EPOCH_MS = r"'\s*-?[0-9]+\s*'"
_INTEGER_TEXT = r"'\s*[+-]?[0-9]+(\.0*)?\s*'"


class HostileIdentifierError(ValueError):
    """An API name that is not a plain identifier, or two names that collide case-insensitively."""


def validate_identifier(name: str, *, where: str) -> str:
    """``name`` if it is a plain ASCII identifier (``^[A-Za-z][A-Za-z0-9_]{0,254}$``), else HostileIdentifierError."""
    if not isinstance(name, str) or _IDENT.fullmatch(name) is None:
        raise HostileIdentifierError(f"refused {where} name {name!r}: not a plain identifier [A-Za-z][A-Za-z0-9_]*")
    return name


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (validated names never contain quotes; escaped anyway)."""
    return '"' + name.replace('"', '""') + '"'


def check_collisions(names: list[str], *, where: str) -> None:
    """HostileIdentifierError if two names are equal case-insensitively (DuckDB would treat them as one)."""
    seen: dict[str, str] = {}
    for name in names:
        key = name.lower()
        if key in seen:
            raise HostileIdentifierError(
                f"{where} names {seen[key]!r} and {name!r} collide case-insensitively; refusing to load either"
            )
        seen[key] = name


@dataclass(frozen=True)
class Column:
    name: str
    duck_type: str
    source_type: str


def normalize_type(duck_type: str) -> str:
    """Canonical spelling of a DuckDB type (``TIMESTAMP WITH TIME ZONE`` -> ``TIMESTAMPTZ``, no spaces in DECIMAL)."""
    t = " ".join(duck_type.strip().upper().split())
    t = t.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
    t = re.sub(r"\s*([(),])\s*", r"\1", t)
    if t in ("NUMERIC", "DECIMAL"):
        return "DECIMAL(18,3)"
    return t.replace("NUMERIC(", "DECIMAL(")


def _decimal(precision: Any, scale: Any) -> str | None:
    try:
        p = int(precision or 0)
        s = int(scale or 0)
    except (TypeError, ValueError):
        return None
    if p <= 0:
        return None
    p = min(p, 38)
    s = max(0, min(s, p))
    return f"DECIMAL({p},{s})"


def _salesforce_type(field: dict[str, Any]) -> str:
    ftype = str(field.get("type", "")).lower()
    if ftype in _SF_NUMERIC:
        dec = _decimal(field.get("precision"), field.get("scale"))
        if dec is not None:
            return dec
        return "DOUBLE" if ftype == "double" else _DEFAULT_DECIMAL
    return {
        "int": "BIGINT",
        "long": "BIGINT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
        "time": "TIME",
        "multipicklist": "VARCHAR[]",
    }.get(ftype, "VARCHAR")


def salesforce_columns(describe: dict[str, Any]) -> tuple[list[Column], list[str]]:
    """(columns, refused) for a Salesforce ``/sobjects/<Obj>/describe`` document.

    Compound (``address``, ``location``) and non-queryable fields are left out; hostile names are refused.
    """
    obj = describe.get("name", "?")
    where = f"salesforce {obj} field"
    columns: list[Column] = []
    refused: list[str] = []
    for field in describe.get("fields", []):
        ftype = str(field.get("type", "")).lower()
        if ftype in _SF_COMPOUND or field.get("queryable", True) is False:
            continue
        name = field.get("name")
        try:
            validate_identifier(name, where=where)
        except HostileIdentifierError:
            refused.append(str(name))
            continue
        columns.append(Column(name, _salesforce_type(field), ftype))
    check_collisions([c.name for c in columns], where=where)
    return columns, refused


HUBSPOT_FIXED = (
    Column("id", "VARCHAR", "id"),
    Column("created_at", "TIMESTAMPTZ", "createdAt"),
    Column("updated_at", "TIMESTAMPTZ", "updatedAt"),
    Column("archived", "BOOLEAN", "archived"),
    Column("archived_at", "TIMESTAMPTZ", "archivedAt"),
)


def _hubspot_type(definition: dict[str, Any]) -> str:
    ptype = str(definition.get("type", "")).lower()
    if ptype == "number":
        return "DECIMAL(38,9)"
    if ptype == "datetime":
        return "TIMESTAMPTZ"
    if ptype == "date":
        return "DATE"
    if ptype == "bool":
        return "BOOLEAN"
    if ptype == "enumeration" and str(definition.get("fieldType", "")).lower() == "checkbox":
        return "VARCHAR[]"
    return "VARCHAR"


def hubspot_columns(definitions: list[dict[str, Any]]) -> tuple[list[Column], list[str]]:
    """(columns, refused) for HubSpot ``/crm/v3/properties/<object>`` results: fixed columns first, then properties."""
    where = "hubspot property"
    columns: list[Column] = list(HUBSPOT_FIXED)
    refused: list[str] = []
    for definition in definitions:
        name = definition.get("name")
        try:
            validate_identifier(name, where=where)
        except HostileIdentifierError:
            refused.append(str(name))
            continue
        source_type = str(definition.get("type", ""))
        if definition.get("fieldType"):
            source_type += f"/{definition['fieldType']}"
        columns.append(Column(name, _hubspot_type(definition), source_type))
    check_collisions([c.name for c in columns], where=where)
    return columns, refused


def _convert(column: Column, source_expr: str, *, strict: bool) -> str:
    cast = "CAST" if strict else "TRY_CAST"
    t = normalize_type(column.duck_type)
    v = f"NULLIF({source_expr}, '')"
    if t == "VARCHAR":
        return v
    if t == "VARCHAR[]":
        return f"CAST(string_split({v}, ';') AS VARCHAR[])"
    if t == "TIMESTAMPTZ":
        return (
            f"CASE WHEN regexp_full_match({v}, {_EPOCH_MS}) THEN make_timestamptz({cast}({v} AS BIGINT) * 1000) "
            f"ELSE {cast}({v} AS TIMESTAMPTZ) END"
        )
    if t == "DATE":
        return (
            f"CASE WHEN regexp_full_match({v}, {_EPOCH_MS}) "
            f"THEN CAST(make_timestamptz({cast}({v} AS BIGINT) * 1000) AS DATE) ELSE {cast}({v} AS DATE) END"
        )
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        if strict:
            msg = f"'not an integer in column {column.name.replace(chr(39), '')}: ' || {v}"
            guarded = f"CASE WHEN regexp_full_match({v}, {_INTEGER_TEXT}) THEN {v} ELSE error({msg}) END"
            return f"CAST({guarded} AS {t})"
        return f"CASE WHEN regexp_full_match({v}, {_INTEGER_TEXT}) THEN TRY_CAST({v} AS {t}) END"
    return f"{cast}({v} AS {t})"


def cast_sql(column: Column, source_expr: str) -> str:
    """SQL turning the staged text ``source_expr`` into ``column.duck_type``; CAST, so bad values raise."""
    return _convert(column, source_expr, strict=True)


def try_cast_sql(column: Column, source_expr: str) -> str:
    """Like :func:`cast_sql` but NULL where the value does not convert. Only for finding the bad row after a failure."""
    return _convert(column, source_expr, strict=False)
