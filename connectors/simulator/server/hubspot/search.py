"""CRM v3 search: filterGroups compiled to DuckDB SQL with bound parameters, one sort, offset paging.

Values are compared by the property definition's ``type``: datetime and date properties as epoch
milliseconds (filter values may be epoch-ms strings, ISO datetimes or plain dates), numbers
numerically, ``hs_object_id`` as an integer, strings and bools case-insensitively, and multi-select
checkboxes (``a;b``) by membership. Real HubSpot quirks kept on purpose: ``total`` is the full
count, offsets at or beyond the result cap (10,000) are a 400 even though the previous page offered
them, archived records never match, and there are no associations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..http import HttpError
from .objects import ID_ORDER, ObjectStore, ObjectType, derived_columns, parse_limit

OPERATORS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                       "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
_COMPARE = {"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
# Properties the free-text `query` looks through, when the type has them.
_QUERY_PROPERTIES = ("name", "domain", "email", "firstname", "lastname", "phone", "company", "dealname",
                     "hs_call_title", "hs_email_subject", "hs_meeting_title", "hs_task_subject", "hs_note_body")


@dataclass
class SearchLimits:
    """Filter limits: 5 groups x 6 filters, 18 in all per the current docs (the 2024 changelog said
    5 x 10, 25); the page size maximum and the result cap come from settings."""

    max_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    max_limit: int = 200
    result_cap: int = 10_000


def _invalid(message: str, prop: str | None = None) -> HttpError:
    extra: dict[str, Any] = {}
    if prop is not None:
        extra["errors"] = [{"message": message, "code": "INVALID_PROPERTY", "in": "propertyName",
                            "context": {"propertyName": [prop]}}]
    return HttpError(400, "VALIDATION_ERROR", message, **extra)


def to_epoch_ms(value: Any, prop: str) -> int:
    """A datetime filter value: epoch ms (number or digit string), an ISO datetime or a plain date."""
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise _invalid(f"{value!r} is not a valid datetime value for property {prop}", prop) from exc
    return int(parsed.timestamp() * 1000)


class _Compiler:
    """Turns one object type's filters and sort into SQL fragments with parameters."""

    def __init__(self, ot: ObjectType, definitions: list[dict[str, Any]]) -> None:
        self.ot = ot
        self.defs = {d["name"]: d for d in definitions}
        self.params: list[Any] = []
        self.derived = derived_columns(ot.name)

    # -- properties ----------------------------------------------------------------------------
    def kind(self, prop: str) -> str:
        if prop == "hs_object_id":
            return "id"
        d = self.defs.get(prop)
        if d is None:
            return "time" if prop in self.derived else "string"
        if d.get("type") in ("datetime", "date"):
            return "time"
        if d.get("type") == "number":
            return "number"
        if d.get("type") == "enumeration" and d.get("fieldType") == "checkbox":
            return "multi"
        return "string"

    def raw(self, prop: str) -> str | None:
        """The stored column, or None for the always-present properties derived from base columns."""
        if self.ot.has(prop):
            return '"' + prop.replace('"', '""') + '"'
        if prop == "hs_object_id" or prop in self.derived:
            return None
        raise _invalid(f'Property "{prop}" does not exist on object type {self.ot.name}', prop)

    def expr(self, prop: str) -> str:
        kind, col = self.kind(prop), self.raw(prop)
        base = self.derived.get(prop)
        if kind == "id":
            return "TRY_CAST(id AS BIGINT)"
        if kind == "time":
            fallback = f"epoch_ms({base})" if base else "NULL"
            if col is None:
                return fallback
            parsed = (f"CASE WHEN regexp_full_match({col}, '-?[0-9]+') THEN TRY_CAST({col} AS BIGINT) "
                      f"ELSE epoch_ms(TRY_CAST({col} AS TIMESTAMP)) END")
            return f"COALESCE({parsed}, {fallback})" if base else parsed
        if kind == "number":
            return f"TRY_CAST({col} AS DOUBLE)"
        if kind == "multi":
            return f"string_split(lower({col}), ';')"
        return f"lower({col})"

    def value(self, prop: str, value: Any) -> Any:
        if value is None:
            raise _invalid(f"A value is required for the filter on {prop}", prop)
        kind = self.kind(prop)
        try:
            if kind == "time":
                return to_epoch_ms(value, prop)
            if kind == "number":
                return float(value)
            if kind == "id":
                return int(str(value).strip())
        except ValueError as exc:
            raise _invalid(f"{value!r} is not a valid {kind} value for property {prop}", prop) from exc
        return str(value).lower()

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # -- filters -------------------------------------------------------------------------------
    def filter(self, f: Any) -> str:
        if not isinstance(f, dict) or not f.get("propertyName"):
            raise _invalid("Every filter needs a propertyName")
        prop, op = str(f["propertyName"]), str(f.get("operator") or "EQ").upper()
        if op not in OPERATORS:
            raise _invalid(f"Unknown operator {op!r} on {prop}; expected one of {sorted(OPERATORS)}")
        col = self.raw(prop)
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            has = "TRUE" if col is None else f"({col} IS NOT NULL AND {col} <> '')"
            return has if op == "HAS_PROPERTY" else f"NOT {has}"
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            return self._token(prop, col, f.get("value"), negate=op == "NOT_CONTAINS_TOKEN")
        expr, multi = self.expr(prop), self.kind(prop) == "multi"
        if op in ("IN", "NOT_IN"):
            values = f.get("values")
            if not isinstance(values, list) or not values:
                raise _invalid(f"{op} on {prop} needs a non-empty 'values' list", prop)
            bound = [self.value(prop, v) for v in values]
            if multi:
                test = f"list_has_any({expr}, {self.bind([str(v) for v in bound])}::VARCHAR[])"
            else:
                test = f"{expr} IN ({', '.join(self.bind(v) for v in bound)})"
            return test if op == "IN" else f"({expr} IS NULL OR NOT {test})"
        if op == "BETWEEN":
            low, high = self.value(prop, f.get("value")), self.value(prop, f.get("highValue"))
            return f"{expr} BETWEEN {self.bind(low)} AND {self.bind(high)}"
        bound_value = self.value(prop, f.get("value"))
        if multi and op in ("EQ", "NEQ"):
            test = f"list_contains({expr}, {self.bind(str(bound_value))})"
            return test if op == "EQ" else f"({expr} IS NULL OR NOT {test})"
        if op == "NEQ":
            return f"({expr} IS NULL OR {expr} <> {self.bind(bound_value)})"
        return f"{expr} {_COMPARE[op]} {self.bind(bound_value)}"

    def _token(self, prop: str, col: str | None, value: Any, negate: bool) -> str:
        if value is None:
            raise _invalid(f"A value is required for the filter on {prop}", prop)
        text = col or self.expr(prop)
        token = str(value).strip().lower()
        if "*" in token:  # HubSpot wildcards: `*@example.com`
            like = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
            test = f"lower(CAST({text} AS VARCHAR)) LIKE {self.bind(like)} ESCAPE '\\'"
        else:
            pattern = r"(^|[^[:alnum:]])" + re.escape(token) + r"([^[:alnum:]]|$)"
            test = f"regexp_matches(lower(CAST({text} AS VARCHAR)), {self.bind(pattern)})"
        return f"({text} IS NULL OR NOT {test})" if negate else f"COALESCE({test}, FALSE)"

    def groups(self, groups: Any, limits: SearchLimits) -> str:
        if groups in (None, []):
            return "TRUE"
        if not isinstance(groups, list):
            raise _invalid("filterGroups must be a list")
        if len(groups) > limits.max_groups:
            raise _invalid(f"Too many filter groups: {len(groups)} (maximum {limits.max_groups})")
        total, ors = 0, []
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list):
                raise _invalid("Every filter group needs a 'filters' list")
            if len(filters) > limits.max_filters_per_group:
                raise _invalid(f"Too many filters in a group: {len(filters)} "
                               f"(maximum {limits.max_filters_per_group})")
            total += len(filters)
            ands = [self.filter(f) for f in filters] or ["TRUE"]
            ors.append("(" + " AND ".join(ands) + ")")
        if total > limits.max_filters_total:
            raise _invalid(f"Too many filters: {total} (maximum {limits.max_filters_total})")
        return "(" + " OR ".join(ors) + ")"

    def order(self, sorts: Any) -> str:
        if sorts in (None, []):
            return f'"createdAt", {ID_ORDER}'  # HubSpot's default: oldest first
        if not isinstance(sorts, list):
            sorts = [sorts]
        if len(sorts) > 1:
            raise _invalid("Only one sort is allowed per search")
        sort = sorts[0]
        if isinstance(sort, str):  # the Python model types sorts as list[str]: "prop" / "-prop"
            prop, desc = sort.lstrip("-"), sort.startswith("-")
        elif isinstance(sort, dict) and sort.get("propertyName"):
            prop = str(sort["propertyName"])
            desc = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
        else:
            raise _invalid("A sort is a property name or {propertyName, direction}")
        self.raw(prop)  # unknown sort properties are a 400 like unknown filter properties
        return f"{self.expr(prop)} {'DESC' if desc else 'ASC'} NULLS LAST, {ID_ORDER}"

    def query(self, text: Any) -> str:
        if not text:
            return "TRUE"
        cols = [f'"{p}"' for p in _QUERY_PROPERTIES if self.ot.has(p)] or ["id"]
        needle = "%" + str(text).lower().replace("%", "").replace("_", "") + "%"
        return f"lower(concat_ws(' ', id, {', '.join(cols)})) LIKE {self.bind(needle)}"


def search(store: ObjectStore, ot: ObjectType, body: Any, limits: SearchLimits,
           lag_seconds: float, clock: datetime) -> dict[str, Any]:
    """Run one search request against ``ot`` and build HubSpot's response body."""
    if not isinstance(body, dict):
        raise _invalid("The search body must be a JSON object")
    limit = parse_limit(body.get("limit"), 10, limits.max_limit)
    after = body.get("after")
    try:
        offset = int(after) if after not in (None, "") else 0
    except (TypeError, ValueError) as exc:
        raise _invalid(f"Invalid after={after!r}: expected an offset") from exc
    if offset < 0:
        raise _invalid(f"Invalid after={after!r}: expected an offset")
    if not ot.exists:  # a standard type the portal has no records of
        return {"total": 0, "results": []}
    compiler = _Compiler(ot, store.dataset.hs_properties.get(ot.name, []))
    where = [compiler.groups(body.get("filterGroups"), limits), compiler.query(body.get("query")),
             "archived = FALSE"]
    if lag_seconds > 0:  # eventual consistency: recently changed records are not indexed yet
        horizon = clock.astimezone(UTC).replace(tzinfo=None) - timedelta(seconds=lag_seconds)
        where.append(f'"updatedAt" <= {compiler.bind(horizon)}')
    order = compiler.order(body.get("sorts"))
    if offset >= limits.result_cap:
        raise _invalid(f"Search results are capped at {limits.result_cap}: after={offset} is beyond the cap. "
                       "Narrow the filters (e.g. on the last-modified date) instead of paging further.")
    requested = body.get("properties") or []
    if not isinstance(requested, list):
        raise _invalid("properties must be a list")
    props = store.output_properties(ot, [str(p) for p in requested])
    where_sql = " AND ".join(where)
    with store.dataset.reading() as cur:
        total = cur.execute(f"SELECT count(*) FROM {ot.table} WHERE {where_sql}", compiler.params).fetchall()[0][0]
        page_size = min(limit, limits.result_cap - offset)
        rows = store.fetch(cur, ot, props, where_sql, compiler.params, order, limit=page_size, offset=offset)
    out: dict[str, Any] = {"total": total, "results": rows}
    if offset + len(rows) < total:
        out["paging"] = {"next": {"after": str(offset + len(rows))}}
    return out
