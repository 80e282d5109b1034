"""Bind a parsed SOQL query to the dataset's describes and compile it to DuckDB SQL.

Literal values are always bound as parameters. Relationship paths (``Account.Owner.Name``) become
LEFT JOINs through the describe's ``relationshipName``/``referenceTo``; a polymorphic reference
(``What``) joins every served target and exposes only the fields of Salesforce's ``Name`` entity.
The compiled SELECT numbers its rows with the requested ordering plus ``Id`` as a final tie-break,
so paging a materialised result is deterministic.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ...dataset.store import SF_COMPOUND_TYPES, Dataset, quote_ident, sf_json_value
from . import soql
from .schema import BINARY_STRING_TYPES, NUMERIC_TYPES, Schema, compound_key
from .soql import error_at

MAX_OFFSET = 2000
_POLYMORPHIC_FIELDS = {"id": ("Id", "id"), "name": ("Name", "string"), "type": ("Type", "string")}


# ---- the compiled form ----------------------------------------------------------------------

@dataclass
class Column:
    """A selected value: its canonical dotted name (``Owner.Name``), describe type and result index."""

    name: str
    sf_type: str
    index: int


@dataclass
class Compound:
    """An address/location value assembled from its stored components."""

    name: str
    parts: list[tuple[str, Column]]


@dataclass
class Level:
    """One record object in the JSON output: the root record or a nested parent."""

    obj: str | None  # None for a polymorphic parent: the type comes from type_index
    id_index: int
    type_index: int | None = None
    items: list[tuple[str, Column | Compound | Level]] = field(default_factory=list)


@dataclass
class CompiledQuery:
    object: str
    sql: str  # rows of the result in order; the last column is __rn (1-based position)
    params: list[Any]
    columns: list[Column]  # selected values in SELECT order (flat, for CSV)
    root: Level
    is_count: bool = False
    compound_fields: list[str] = field(default_factory=list)

    @property
    def count_sql(self) -> str:
        return f"SELECT count(*) FROM ({self.sql}) AS counted"


@dataclass
class _Join:
    targets: list[tuple[str, str]]  # (alias, object)
    polymorphic: bool
    id_expr: str
    type_expr: str | None = None


@dataclass
class _Resolved:
    expr: str
    sf_type: str
    name: str  # canonical field name
    rels: tuple[str, ...]  # canonical relationship names leading to it
    join: _Join | None
    fld: dict[str, Any] | None  # None for polymorphic Name-entity fields

    @property
    def dotted(self) -> str:
        return ".".join((*self.rels, self.name))


# ---- value categories -----------------------------------------------------------------------

def _category(sf_type: str) -> str:
    if sf_type in ("datetime", "date", "boolean"):
        return sf_type
    if sf_type in NUMERIC_TYPES:
        return "number"
    return "string"


_TYPE_WORDS = {"datetime": "dateTime", "date": "date", "boolean": "boolean", "string": "string"}


def _type_word(sf_type: str) -> str:
    if sf_type in ("int", "long"):
        return "integer"
    if sf_type in NUMERIC_TYPES:
        return "double"
    return _TYPE_WORDS[_category(sf_type)]


def date_literal_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """[start, end) in days for a SOQL date literal, relative to ``today``."""
    month_start = today.replace(day=1)
    next_month = month_start + timedelta(days=monthrange(today.year, today.month)[1])
    prev_month = (month_start - timedelta(days=1)).replace(day=1)
    ranges = {
        "TODAY": (today, today + timedelta(days=1)),
        "YESTERDAY": (today - timedelta(days=1), today),
        "TOMORROW": (today + timedelta(days=1), today + timedelta(days=2)),
        "THIS_MONTH": (month_start, next_month),
        "LAST_MONTH": (prev_month, month_start),
        "NEXT_MONTH": (next_month, (next_month + timedelta(days=32)).replace(day=1)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
    }
    if name in ranges:
        return ranges[name]
    assert n is not None
    if name == "LAST_N_DAYS":  # the past n days and today
        return today - timedelta(days=n), today + timedelta(days=1)
    if name == "NEXT_N_DAYS":
        return today + timedelta(days=1), today + timedelta(days=n + 1)
    if name == "N_DAYS_AGO":
        return today - timedelta(days=n), today - timedelta(days=n - 1)
    raise ValueError(name)


# ---- the compiler ---------------------------------------------------------------------------

class _Compiler:
    def __init__(self, dataset: Dataset, query: soql.Query, include_deleted: bool, recycle_bin_days: int) -> None:
        self.dataset = dataset
        self.schema = Schema(dataset)
        self.query = query
        self.text = query.text
        self.include_deleted = include_deleted
        self.recycle_bin_days = recycle_bin_days
        obj = self.schema.object_name(query.object)
        if obj is None:
            raise error_at(self.text, query.object_pos, "INVALID_TYPE",
                           f"sObject type '{query.object}' is not supported. If you are attempting to use a custom "
                           "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
                           "or the describe call for the appropriate names.")
        self.obj = obj
        self.exprs: list[str] = []
        self.joins: dict[tuple[str, ...], _Join] = {}
        self.join_sql: list[str] = []
        self.params: list[Any] = []
        self.today = dataset.clock.astimezone(UTC).date()

    # -- names --
    def column(self, expr: str) -> int:
        if expr not in self.exprs:
            self.exprs.append(expr)
        return self.exprs.index(expr)

    def resolve(self, ref: soql.FieldRef, *, allow_compound: bool = False) -> _Resolved:
        parts = list(ref.path)
        qualifier = len(parts) > 1 and parts[0].lower() == self.obj.lower()
        if qualifier and self.schema.relationship(self.obj, parts[0]) is None:
            parts = parts[1:]  # "SELECT Account.Name FROM Account": the object name used as a qualifier
        obj: str | None = self.obj
        alias = "t0"
        join: _Join | None = None
        rels: list[str] = []
        for rel in parts[:-1]:
            ref_field = None if obj is None else self.schema.relationship(obj, rel)
            if ref_field is None:
                raise error_at(self.text, ref.pos, "INVALID_FIELD",
                               f"Didn't understand relationship '{rel}' in field path. If you are attempting to use "
                               "a custom relationship, be sure to append the '__r' after the custom relationship "
                               "name. Please reference your WSDL or the describe call for the appropriate names.")
            rels.append(ref_field["relationshipName"])
            join = self._join(tuple(rels), alias, ref_field, ref)
            if join.polymorphic:
                obj = None
            else:
                alias, obj = join.targets[0]
        name = parts[-1]
        if join is not None and join.polymorphic:
            return self._polymorphic_field(ref, name, tuple(rels), join)
        assert obj is not None
        fld = self.schema.field(obj, name)
        if fld is None:
            raise error_at(self.text, ref.pos, "INVALID_FIELD",
                           f"No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, "
                           "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
                           "the describe call for the appropriate names.")
        if fld["type"] in SF_COMPOUND_TYPES and not allow_compound:
            raise error_at(self.text, ref.pos, "INVALID_FIELD",
                           f"field '{fld['name']}' can not be filtered or sorted in a query call")
        expr = f"{alias}.{quote_ident(fld['name'])}"
        return _Resolved(expr, fld["type"], fld["name"], tuple(rels), join, fld)

    def _join(self, path: tuple[str, ...], parent_alias: str, ref_field: dict[str, Any],
              ref: soql.FieldRef) -> _Join:
        if path in self.joins:
            return self.joins[path]
        polymorphic = len(ref_field["referenceTo"]) > 1
        targets: list[tuple[str, str]] = []
        for target in ref_field["referenceTo"]:
            canonical = self.schema.object_name(target)
            if canonical is None:
                continue
            alias = f"t{len(self.join_sql) + 1}"
            fk = f"{parent_alias}.{quote_ident(ref_field['name'])}"
            self.join_sql.append(f"LEFT JOIN {self.dataset.sf_table(canonical)} AS {alias} ON {alias}.\"Id\" = {fk}")
            targets.append((alias, canonical))
        if not polymorphic and not targets:
            raise error_at(self.text, ref.pos, "INVALID_FIELD",
                           f"Didn't understand relationship '{path[-1]}' in field path: "
                           f"{ref_field['referenceTo'][0]} is not available")
        if polymorphic:
            ids = [f'{a}."Id"' for a, _ in targets]
            id_expr = f"COALESCE({', '.join(ids)})" if ids else "CAST(NULL AS VARCHAR)"
            whens = " ".join(f"WHEN {a}.\"Id\" IS NOT NULL THEN '{o}'" for a, o in targets)
            type_expr = f"CASE {whens} END" if targets else "CAST(NULL AS VARCHAR)"
            join = _Join(targets, True, id_expr, type_expr)
        else:
            join = _Join(targets, False, f'{targets[0][0]}."Id"')
        self.joins[path] = join
        return join

    def _polymorphic_field(self, ref: soql.FieldRef, name: str, rels: tuple[str, ...], join: _Join) -> _Resolved:
        known = _POLYMORPHIC_FIELDS.get(name.lower())
        if known is None:
            raise error_at(self.text, ref.pos, "INVALID_FIELD", f"No such column '{name}' on entity 'Name'. If you "
                           "are attempting to use a custom field, be sure to append the '__c' after the custom field "
                           "name. Please reference your WSDL or the describe call for the appropriate names.")
        canonical, sf_type = known
        if canonical == "Id":
            expr = join.id_expr
        elif canonical == "Type":
            expr = join.type_expr or "NULL"
        else:
            cols = [f"{a}.{quote_ident(canonical)}" for a, o in join.targets if self.schema.has_field(o, canonical)]
            expr = f"COALESCE({', '.join(cols)})" if cols else "CAST(NULL AS VARCHAR)"
        return _Resolved(expr, sf_type, canonical, rels, join, None)

    # -- SELECT --
    def select(self) -> tuple[Level, list[Column], list[str]]:
        root = Level(self.obj, self.column('t0."Id"'))
        columns: list[Column] = []
        compounds: list[str] = []
        seen: set[str] = set()
        for item in self.query.fields:
            if isinstance(item, soql.CountAll):
                continue
            res = self.resolve(item, allow_compound=True)
            if res.dotted.lower() in seen:
                raise error_at(self.text, item.pos, "MALFORMED_QUERY", f"duplicate field selected: {res.dotted}")
            seen.add(res.dotted.lower())
            level = self._level(root, res)
            if res.fld is not None and res.fld["type"] in SF_COMPOUND_TYPES:
                compounds.append(res.dotted)
                level.items.append((res.name, self._compound(res)))
                continue
            col = Column(res.dotted, res.sf_type, self.column(res.expr))
            columns.append(col)
            level.items.append((res.name, col))
        return root, columns, compounds

    def _level(self, root: Level, res: _Resolved) -> Level:
        level = root
        for depth, rel in enumerate(res.rels):
            child = next((it for key, it in level.items if key == rel and isinstance(it, Level)), None)
            if child is None:
                join = self.joins[res.rels[: depth + 1]]
                if join.polymorphic:
                    child = Level(None, self.column(join.id_expr), self.column(join.type_expr or "NULL"))
                else:
                    child = Level(join.targets[0][1], self.column(join.id_expr))
                level.items.append((rel, child))
            level = child
        return level

    def _compound(self, res: _Resolved) -> Compound:
        alias = res.expr.rsplit(".", 1)[0]
        obj = self.obj if res.join is None else res.join.targets[0][1]
        parts = []
        for comp in self.schema.components(obj, res.name):
            col = Column(comp["name"], comp["type"], self.column(f"{alias}.{quote_ident(comp['name'])}"))
            parts.append((compound_key(res.name, comp["name"]), col))
        return Compound(res.name, parts)

    # -- WHERE --
    def condition(self, cond: soql.Condition) -> str:
        if isinstance(cond, soql.BoolOp):
            return "(" + f" {cond.op} ".join(self.condition(c) for c in cond.items) + ")"
        if isinstance(cond, soql.Not):
            return f"(NOT COALESCE({self.condition(cond.item)}, FALSE))"
        if isinstance(cond, soql.Like):
            res = self.resolve(cond.field)
            if _category(res.sf_type) != "string":
                raise error_at(self.text, cond.field.pos, "INVALID_FIELD",
                               f"invalid operator on {_type_word(res.sf_type)} field: LIKE on '{res.dotted}'")
            self.params.append(cond.pattern.like)
            return f"({res.expr} ILIKE ? ESCAPE '\\')"
        if isinstance(cond, soql.InList):
            return self._in(cond)
        return self._compare(cond)

    def _check(self, res: _Resolved, lit: soql.Literal) -> None:
        if lit.kind == "null":
            return
        cat = _category(res.sf_type)
        accepted = {"datetime": ("datetime", "date_literal"), "date": ("date", "date_literal"),
                    "boolean": ("boolean",), "number": ("number",), "string": ("string",)}[cat]
        if lit.kind in accepted:
            return
        word = _type_word(res.sf_type)
        if cat == "string":
            detail = f"must be of type {word} and should be enclosed in quotes"
        elif lit.kind == "string":
            detail = f"must be of type {word} and should not be enclosed in quotes"
        else:
            detail = f"must be of type {word}"
        raise error_at(self.text, lit.pos, "INVALID_FIELD",
                       f"value of filter criterion for field '{res.dotted}' {detail}")

    def _operand(self, res: _Resolved) -> tuple[str, bool]:
        """The SQL operand for a field and whether values compare case-insensitively."""
        if _category(res.sf_type) == "string" and res.sf_type not in BINARY_STRING_TYPES:
            return f"lower({res.expr})", True
        return res.expr, False

    def _value(self, lit: soql.Literal, lowered: bool) -> Any:
        return lit.value.lower() if lowered and isinstance(lit.value, str) else lit.value

    def _range(self, res: _Resolved, lit: soql.Literal) -> tuple[Any, Any]:
        name, n = lit.value
        lo, hi = date_literal_range(name, n, self.today)
        if res.sf_type == "datetime":
            return datetime.combine(lo, datetime.min.time()), datetime.combine(hi, datetime.min.time())
        return lo, hi

    def _compare(self, cond: soql.Comparison) -> str:
        res = self.resolve(cond.field)
        lit, op = cond.value, cond.op
        self._check(res, lit)
        expr, lowered = self._operand(res)
        if lit.kind == "null":
            return {"=": f"({res.expr} IS NULL)", "!=": f"({res.expr} IS NOT NULL)"}.get(op, "FALSE")
        if lit.kind == "date_literal":
            lo, hi = self._range(res, lit)
            forms = {"=": ("({e} >= ? AND {e} < ?)", [lo, hi]),
                     "!=": ("({e} IS NULL OR NOT ({e} >= ? AND {e} < ?))", [lo, hi]),
                     "<": ("({e} < ?)", [lo]), "<=": ("({e} < ?)", [hi]),
                     ">": ("({e} >= ?)", [hi]), ">=": ("({e} >= ?)", [lo])}
            sql, params = forms[op]
            self.params.extend(params)
            return sql.format(e=res.expr)
        self.params.append(self._value(lit, lowered))
        if op == "!=":
            return f"({expr} IS DISTINCT FROM ?)"
        return f"({expr} {op} ?)"

    def _in(self, cond: soql.InList) -> str:
        res = self.resolve(cond.field)
        expr, lowered = self._operand(res)
        plain: list[Any] = []
        ranges: list[tuple[Any, Any]] = []
        has_null = False
        for lit in cond.values:
            self._check(res, lit)
            if lit.kind == "null":
                has_null = True
            elif lit.kind == "date_literal":
                ranges.append(self._range(res, lit))
            else:
                plain.append(self._value(lit, lowered))
        parts: list[str] = []
        if plain:
            parts.append(f"{expr} IN ({', '.join('?' for _ in plain)})")
            self.params.extend(plain)
        for lo, hi in ranges:
            parts.append(f"({res.expr} >= ? AND {res.expr} < ?)")
            self.params.extend([lo, hi])
        if has_null:
            parts.append(f"{res.expr} IS NULL")
        positive = "(" + " OR ".join(parts) + ")"
        # SOQL's NOT IN keeps rows whose value is null
        return f"(NOT COALESCE({positive}, FALSE))" if cond.negated else positive

    # -- ORDER BY --
    def order_by(self) -> str:
        keys: list[str] = []
        has_id = False
        for key in self.query.order_by:
            res = self.resolve(key.field)
            if res.rels == () and res.name == "Id":
                has_id = True
            expr, _ = self._operand(res)
            nulls_first = (not key.descending) if key.nulls_first is None else key.nulls_first
            keys.append(f"{expr} {'DESC' if key.descending else 'ASC'} NULLS {'FIRST' if nulls_first else 'LAST'}")
        if not has_id:
            keys.append('t0."Id" ASC')
        return ", ".join(keys)

    # -- visibility --
    def visibility(self) -> list[str]:
        out: list[str] = []
        has = lambda name: self.schema.has_field(self.obj, name)  # noqa: E731
        if has("IsDeleted"):
            if not self.include_deleted:
                out.append('t0."IsDeleted" IS NOT TRUE')
            elif has("SystemModstamp"):  # the recycle bin is emptied after recycle_bin_days
                cutoff = self.dataset.clock.astimezone(UTC).replace(tzinfo=None) - timedelta(days=self.recycle_bin_days)
                out.append('NOT (t0."IsDeleted" IS TRUE AND t0."SystemModstamp" < ?)')
                self.params.append(cutoff)
        if has("IsArchived") and not self.include_deleted:
            out.append('t0."IsArchived" IS NOT TRUE')
        return out

    def compile(self) -> CompiledQuery:
        q = self.query
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise error_at(self.text, q.offset_pos, "NUMBER_OUTSIDE_VALID_RANGE",
                           f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        root, columns, compounds = self.select()
        order = self.order_by()
        filters = self.visibility()
        if q.where is not None:
            filters.append(self.condition(q.where))
        select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(self.exprs))
        inner = (f"SELECT {select}, row_number() OVER (ORDER BY {order}) AS __rn "
                 f"FROM {self.dataset.sf_table(self.obj)} AS t0 {' '.join(self.join_sql)}")
        if filters:
            inner += " WHERE " + " AND ".join(filters)
        offset = q.offset or 0
        sql = f"SELECT * FROM ({inner}) AS numbered WHERE __rn > ?"
        params = [*self.params, offset]
        if q.limit is not None:
            sql += " AND __rn <= ?"
            params.append(offset + q.limit)
        return CompiledQuery(self.obj, sql, params, columns, root, q.is_count, compounds)


def compile_query(dataset: Dataset, query: soql.Query, *, include_deleted: bool = False,
                  recycle_bin_days: int = 15) -> CompiledQuery:
    """Bind ``query`` to the dataset; raises :class:`~.soql.SoqlError` for unknown objects or fields."""
    return _Compiler(dataset, query, include_deleted, recycle_bin_days).compile()


# ---- rendering ------------------------------------------------------------------------------

def render_record(level: Level, row: tuple[Any, ...], version: str) -> dict[str, Any] | None:
    """A result row as the REST API's JSON record (nested parents, or null when the reference is empty)."""
    record_id = row[level.id_index]
    if record_id is None and level.type_index is not None:
        return None
    obj = level.obj if level.type_index is None else row[level.type_index]
    out: dict[str, Any] = {"attributes": {"type": obj, "url": f"/services/data/v{version}/sobjects/{obj}/{record_id}"}}
    for key, item in level.items:
        if isinstance(item, Level):
            out[key] = None if row[item.id_index] is None else render_record(item, row, version)
        elif isinstance(item, Compound):
            value = {k: sf_json_value(row[c.index], c.sf_type) for k, c in item.parts}
            out[key] = value if any(v is not None for v in value.values()) else None
        else:
            out[key] = sf_json_value(row[item.index], item.sf_type)
    return out


def csv_value(value: Any, sf_type: str) -> str | None:
    """A value as Bulk API 2.0 writes it in CSV (None for null: an empty cell)."""
    if value is None:
        return None
    if sf_type == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if sf_type == "date":
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if sf_type in ("int", "long"):
        return str(int(value))
    return str(value)
