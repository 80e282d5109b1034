"""A tokenizer and recursive-descent parser for the SOQL subset the simulator serves (crm_api_wire §A4).

The parser knows syntax only; binding names to describes happens in :mod:`.query`. Every error is a
:class:`SoqlError` (an HTTP 400 with Salesforce's error code) whose message points at the offending
token the way the real API does (``ERROR at Row:1:Column:24`` / ``unexpected token: 'GROUP'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..http import HttpError


class SoqlError(HttpError):
    """A query Salesforce would reject with HTTP 400 (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(400, code, message)


def error_at(text: str, pos: int, code: str, detail: str) -> SoqlError:
    """An error whose message shows the query line, a caret and Row/Column, as Salesforce formats it."""
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start: line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return SoqlError(code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{detail}")


# ---- tokens ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # IDENT, STRING, NUMBER, DATE, DATETIME, OP, COMMA, LPAREN, RPAREN, COLON, EOF
    text: str
    pos: int
    value: Any = None  # decoded value for literals
    like: str | None = None  # STRING only: the value as a LIKE pattern with '\' as the escape character

    @property
    def upper(self) -> str:
        return self.text.upper()


_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})"
_TOKEN_RE = re.compile(
    rf"(?P<DATETIME>{_DATETIME})"
    r"|(?P<DATE>\d{4}-\d{2}-\d{2}(?![\dT]))"
    r"|(?P<NUMBER>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?![\w.]))"
    r"|(?P<IDENT>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<OP>!=|<>|<=|>=|=|<|>)"
    r"|(?P<COMMA>,)|(?P<LPAREN>\()|(?P<RPAREN>\))|(?P<COLON>:)"
)
# SOQL string escapes; \% and \_ only mean something inside LIKE patterns
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            tok, i = _string(text, i)
            tokens.append(tok)
            continue
        m = _TOKEN_RE.match(text, i)
        if not m:
            raise error_at(text, i, "MALFORMED_QUERY", f"unexpected token: '{ch}'")
        kind = m.lastgroup or ""
        tok_text = m.group()
        value: Any = None
        if kind == "NUMBER":
            value = float(tok_text) if "." in tok_text else int(tok_text)
        elif kind == "DATE":
            value = _parse_date(text, i, tok_text)
        elif kind == "DATETIME":
            value = _parse_datetime(text, i, tok_text)
        tokens.append(Token(kind, tok_text, i, value))
        i = m.end()
    tokens.append(Token("EOF", "<EOF>", n))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    value: list[str] = []
    like: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return Token("STRING", text[start: i + 1], start, "".join(value), "".join(like)), i + 1
        if ch == "\\":
            nxt = text[i + 1: i + 2]
            if nxt in ("%", "_"):
                value.append(nxt)
                like.append("\\" + nxt)
            elif nxt in _ESCAPES:
                value.append(_ESCAPES[nxt])
                like.append("\\\\" if nxt == "\\" else _ESCAPES[nxt])
            else:
                raise error_at(text, i, "MALFORMED_QUERY",
                               f"Invalid string literal '{text[start:i + 2]}'. Illegal escape sequence '\\{nxt}'")
            i += 2
            continue
        value.append(ch)
        like.append(ch)
        i += 1
    raise error_at(text, start, "MALFORMED_QUERY",
                   f"unexpected token: '{text[start:start + 20]}' (unterminated string)")


def _parse_date(text: str, pos: int, literal: str) -> date:
    try:
        return date.fromisoformat(literal)
    except ValueError:
        raise error_at(text, pos, "MALFORMED_QUERY", f"line 1:{pos} no viable alternative at '{literal}'") from None


def _parse_datetime(text: str, pos: int, literal: str) -> datetime:
    iso = literal.replace("Z", "+00:00")
    m = re.search(r"([+-])(\d{2})(\d{2})$", iso)  # lenient +0000 form
    if m:
        iso = iso[: m.start()] + f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        raise error_at(text, pos, "MALFORMED_QUERY", f"line 1:{pos} no viable alternative at '{literal}'") from None
    return value.astimezone(UTC).replace(tzinfo=None)


# ---- AST ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]  # as written, e.g. ("Account", "Owner", "Name")
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class CountAll:
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime, date_literal
    value: Any  # date_literal: (NAME, n or None)
    pos: int
    text: str
    like: str | None = None


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >=   (<> is normalised to !=)
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldRef
    pattern: Literal


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderKey:
    field: FieldRef
    descending: bool = False
    nulls_first: bool | None = None  # None: SOQL default (ASC NULLS FIRST, DESC NULLS LAST)


@dataclass
class Query:
    text: str
    fields: list[FieldRef | CountAll]
    object: str
    object_pos: int
    where: Condition | None = None
    order_by: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    offset_pos: int = 0

    @property
    def is_count(self) -> bool:
        return any(isinstance(f, CountAll) for f in self.fields)


# ---- parser ---------------------------------------------------------------------------------

# date literals resolved relative to the simulated clock; the n-suffixed ones take ":n"
DATE_LITERALS = frozenset({"TODAY", "YESTERDAY", "TOMORROW", "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH",
                           "THIS_YEAR", "LAST_YEAR"})
DATE_N_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})
RESERVED = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
                      "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "GROUP", "HAVING", "TYPEOF", "WITH", "FOR",
                      "USING", "INCLUDES", "EXCLUDES", "ROLLUP", "CUBE", "NULL", "TRUE", "FALSE"})
_COMPARISON_OPS = {"=", "!=", "<>", "<", "<=", ">", ">="}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- helpers --
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "IDENT" and self.tok.upper in words

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected()
        return self.advance()

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        tok = tok or self.tok
        shown = "<EOF>" if tok.kind == "EOF" else f"'{tok.text}'"
        return error_at(self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: {shown}")

    # -- grammar --
    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields = self.select_list()
        self.expect_keyword("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "IDENT" or "." in obj_tok.text or obj_tok.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        query = Query(self.text, fields, obj_tok.text, obj_tok.pos)
        if self.at_keyword("WHERE"):
            self.advance()
            query.where = self.or_expr()
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            query.order_by = self.order_list()
        if self.at_keyword("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.at_keyword("OFFSET"):
            query.offset_pos = self.advance().pos
            query.offset = self.integer()
        if self.tok.kind != "EOF":
            raise self.unexpected()
        return query

    def select_list(self) -> list[FieldRef | CountAll]:
        fields: list[FieldRef | CountAll] = [self.select_item()]
        while self.tok.kind == "COMMA":
            self.advance()
            fields.append(self.select_item())
        if len(fields) > 1 and any(isinstance(f, CountAll) for f in fields):
            pos = next(f.pos for f in fields if isinstance(f, CountAll))
            raise error_at(self.text, pos, "MALFORMED_QUERY", "COUNT() cannot be used with other fields")
        return fields

    def select_item(self) -> FieldRef | CountAll:
        tok = self.tok
        if tok.kind != "IDENT" or tok.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        if self.tok.kind == "LPAREN":  # a function: only COUNT() is supported
            if tok.upper == "COUNT" and self.tokens[self.i + 1].kind == "RPAREN":
                self.advance()
                self.advance()
                return CountAll(tok.pos)
            raise self.unexpected(tok)
        return FieldRef(tuple(tok.text.split(".")), tok.pos)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "IDENT" or tok.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        if self.tok.kind == "LPAREN":  # functions in WHERE/ORDER BY (CALENDAR_YEAR(...), ...) are unsupported
            raise self.unexpected(tok)
        return FieldRef(tuple(tok.text.split(".")), tok.pos)

    def or_expr(self) -> Condition:
        items = [self.and_expr()]
        while self.at_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Condition:
        items = [self.unary()]
        while self.at_keyword("AND"):
            self.advance()
            items.append(self.unary())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def unary(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "LPAREN":
            self.advance()
            inner = self.or_expr()
            self.expect("RPAREN")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        ref = self.field_ref()
        tok = self.tok
        if tok.kind == "OP" and tok.text in _COMPARISON_OPS:
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(ref, op, self.literal())
        if self.at_keyword("LIKE"):
            self.advance()
            pattern = self.literal()
            if pattern.kind != "string":
                raise error_at(self.text, pattern.pos, "MALFORMED_QUERY",
                               f"unexpected token: '{pattern.text}' (LIKE needs a quoted pattern)")
            return Like(ref, pattern)
        negated = False
        if self.at_keyword("NOT"):
            self.advance()
            negated = True
            if not self.at_keyword("IN"):
                raise self.unexpected()
        if self.at_keyword("IN"):
            self.advance()
            self.expect("LPAREN")
            values = [self.literal()]
            while self.tok.kind == "COMMA":
                self.advance()
                values.append(self.literal())
            self.expect("RPAREN")
            return InList(ref, tuple(values), negated)
        raise self.unexpected()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "STRING":
            self.advance()
            return Literal("string", tok.value, tok.pos, tok.text, tok.like)
        if tok.kind == "NUMBER":
            self.advance()
            return Literal("number", tok.value, tok.pos, tok.text)
        if tok.kind in ("DATE", "DATETIME"):
            self.advance()
            return Literal(tok.kind.lower(), tok.value, tok.pos, tok.text)
        if tok.kind == "IDENT":
            word = tok.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", tok.pos, tok.text)
            if word == "NULL":
                self.advance()
                return Literal("null", None, tok.pos, tok.text)
            if word in DATE_LITERALS:
                self.advance()
                return Literal("date_literal", (word, None), tok.pos, tok.text)
            if word in DATE_N_LITERALS:
                self.advance()
                self.expect("COLON")
                num = self.tok
                if num.kind != "NUMBER" or not isinstance(num.value, int) or num.value < 0:
                    raise self.unexpected()
                self.advance()
                return Literal("date_literal", (word, num.value), tok.pos, f"{tok.text}:{num.text}")
        raise self.unexpected()

    def order_list(self) -> list[OrderKey]:
        keys = [self.order_key()]
        while self.tok.kind == "COMMA":
            self.advance()
            keys.append(self.order_key())
        return keys

    def order_key(self) -> OrderKey:
        ref = self.field_ref()
        descending = False
        nulls_first: bool | None = None
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().upper == "DESC"
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_first = self.advance().upper == "FIRST"
        return OrderKey(ref, descending, nulls_first)

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "NUMBER" or not isinstance(tok.value, int) or tok.text.startswith(("+", "-")):
            raise self.unexpected()
        self.advance()
        return tok.value


def parse(text: str) -> Query:
    """Parse a SOQL query; raises :class:`SoqlError` (MALFORMED_QUERY) on anything outside the subset."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).parse()
