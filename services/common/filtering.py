"""AIP-160 filters: the `filter` text of a list request, parsed into a Peewee condition.

    state = SENT AND (create_time > "2026-01-02T03:04:05Z" OR NOT title:"urgent")

This module owns the filter grammar, the kinds of field values (`ValueKind`, `FilterField`)
and the limits that keep a hostile filter cheap. The grammar is AIP-160's, where OR binds
tighter than AND and juxtaposed terms are an implicit AND:

    expression = sequence {"AND" sequence}     sequence = factor {factor}
    factor = term {"OR" term}     term = ["NOT" | "-"] simple     simple = comparison | "(" ... ")"
    comparison = field ("=" | "!=" | "<" | "<=" | ">" | ">=" | ":") value

Values are quoted strings ("..." or '...', a backslash makes the next character literal),
numbers, `true`/`false`, `null`, or bare words taken as text (`state = SENT`). `field:*` is
"is set" and `field = null` / `!= null` test for NULL; on text `:` is a case-insensitive
substring match (ASCII only on SQLite). NULL follows SQL's three-valued logic: a row whose
column is NULL matches none of `x = 1`, `x != 1` and `NOT x = 1`.

Anything else is INVALID_ARGUMENT naming the field or the character position. Values are
always bound as parameters, never spliced into SQL.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import peewee

from services.common.errors import InvalidArgument

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32
MAX_COMPARISONS = 200
INT64 = (-(2**63), 2**63 - 1)


class ValueKind(enum.Enum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    ENUM = "enum"


@dataclass(frozen=True)
class FilterField:
    """A field callers may filter (or sort) on: its column, and the kind of its values.
    `choices` (ENUM only) maps each name accepted in filters to the value stored."""

    column: peewee.ColumnBase
    kind: ValueKind
    choices: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.kind is ValueKind.ENUM) != bool(self.choices):
            raise ValueError("an ENUM field needs choices, and only an ENUM field has them")


_ORDERED = ("=", "!=", "<", "<=", ">", ">=")
_OPERATORS = {
    ValueKind.STRING: (*_ORDERED, ":"),
    ValueKind.BOOL: ("=", "!="),
    ValueKind.ENUM: ("=", "!="),
}
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<open>\()
      | (?P<close>\))
      | (?P<op><=|>=|!=|[=<>:])
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<word>[^\s()"'=!<>:]+)""",
    re.VERBOSE | re.DOTALL,
)
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INTEGER = re.compile(r"-?[0-9]+\Z")
_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z", re.ASCII)


def _error(problem: str) -> InvalidArgument:
    return InvalidArgument.field("filter", problem)


@dataclass(frozen=True)
class _Token:
    kind: str  # open, close, op, string, word
    text: str  # as written
    position: int  # 1-based character

    @property
    def value(self) -> str:
        """A string literal's content, a word itself."""
        if self.kind != "string":
            return self.text
        return re.sub(r"\\(.)", r"\1", self.text[1:-1], flags=re.DOTALL)

    def shown(self) -> str:
        text = self.text if self.kind == "string" else json.dumps(self.text, ensure_ascii=False)
        return text if len(text) <= 40 else text[:37] + "..."


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            where = f"at character {position + 1}"
            if text[position] in "\"'":
                raise _error(f"unterminated string {where}")
            raise _error(f"unexpected {text[position]!r} {where}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    return tokens


@dataclass(frozen=True, eq=False)
class _Node:
    """A parsed filter in negation normal form: a comparison (`op` ""), possibly negated, or
    an AND or OR of two or more nodes, none of the same `op`, deepest first."""

    op: str
    parts: tuple[_Node, ...] = ()
    comparison: peewee.ColumnBase | None = None
    negated: bool = False
    height: int = 0


def _chain(op: str, parts: Sequence[_Node]) -> _Node:
    flat = [inner for part in parts for inner in (part.parts if part.op == op else (part,))]
    if len(flat) == 1:
        return flat[0]
    flat.sort(key=lambda part: -part.height)
    return _Node(op, tuple(flat), height=flat[0].height + 1)


def _negated(node: _Node) -> _Node:
    """NOT pushed down to the comparisons (De Morgan's laws hold in three-valued logic too)."""
    if not node.op:
        return _Node("", comparison=node.comparison, negated=not node.negated)
    return _chain("OR" if node.op == "AND" else "AND", [_negated(part) for part in node.parts])


def _sql(node: _Node, parent: str = "") -> peewee.ColumnBase:
    """The SQL of `node`, shaped for SQLite's parser stack (~100 unclosed parentheses, NOTs and
    operators): NOT only on comparisons, the deepest part of each AND/OR first, no parentheses
    for an AND in an OR, so each level of nesting costs about one entry."""
    if node.comparison is not None:
        return ~node.comparison if node.negated else node.comparison
    parts = [_sql(part, node.op) for part in node.parts]
    bare = node.op == "AND" and parent == "OR"
    return peewee.NodeList(parts, f" {node.op} ", parens=not bare)


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FilterField]) -> None:
        self._tokens = _tokenize(text)
        self._fields = fields
        self._next = 0
        self._depth = 0
        self._comparisons = 0

    def parse(self) -> _Node:
        expression = self._expression()
        if self._next < len(self._tokens):
            token = self._tokens[self._next]
            raise _error(f"unexpected {token.shown()} at character {token.position}")
        return expression

    def _peek(self) -> _Token | None:
        return self._tokens[self._next] if self._next < len(self._tokens) else None

    def _take(self, expected: str, *kinds: str) -> _Token:
        """The next token, which must be of one of `kinds` and no keyword."""
        token = self._peek()
        if token is None:
            raise _error(f"expected {expected} at the end of the filter")
        if token.kind not in kinds or token.text in _KEYWORDS:
            raise _error(f"expected {expected} at character {token.position}, got {token.shown()}")
        self._next += 1
        return token

    def _list(self, item: Callable[[], _Node], more: Callable[[], bool], op: str) -> _Node:
        parts = [item()]
        while more():
            parts.append(item())
        return _chain(op, parts)

    def _expression(self) -> _Node:
        return self._list(self._sequence, lambda: self._skip_keyword("AND"), "AND")

    def _sequence(self) -> _Node:
        return self._list(self._factor, self._starts_term, "AND")

    def _factor(self) -> _Node:
        return self._list(self._term, lambda: self._skip_keyword("OR"), "OR")

    def _skip_keyword(self, keyword: str) -> bool:
        token = self._peek()
        if token is None or token.kind != "word" or token.text != keyword:
            return False
        self._next += 1
        return True

    def _starts_term(self) -> bool:
        token = self._peek()
        return not (token is None or token.kind == "close" or token.text in ("AND", "OR"))

    def _term(self) -> _Node:
        token = self._peek()
        if token is not None and token.kind == "word":
            if token.text in ("NOT", "-"):
                self._next += 1
                return _negated(self._simple())
            if token.text.startswith("-"):  # `-field = value`
                self._next += 1
                return _negated(
                    self._restriction(_Token("word", token.text[1:], token.position + 1))
                )
        return self._simple()

    def _simple(self) -> _Node:
        token = self._take("a field or '('", "open", "word")
        if token.kind == "word":
            return self._restriction(token)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _error(f"nests parentheses deeper than {MAX_DEPTH} levels")
        inner = self._expression()
        self._take("')'", "close")
        self._depth -= 1
        return inner

    def _restriction(self, name: _Token) -> _Node:
        where = f"at character {name.position}"
        if not _FIELD.match(name.text):
            raise _error(f"expected a field name {where}, got {name.shown()}")
        spec = self._fields.get(name.text)
        if spec is None:
            raise _error(f"unknown field {name.shown()} {where}; fields: {', '.join(self._fields)}")
        operator = self._take(f"an operator after {name.text}", "op")
        value = self._take(f"a value after {name.text} {operator.text}", "word", "string")
        self._comparisons += 1
        if self._comparisons > MAX_COMPARISONS:
            raise _error(f"has more than {MAX_COMPARISONS} comparisons")
        return _Node("", comparison=_compare(name.text, spec, operator.text, value))


def _compare(name: str, spec: FilterField, op: str, value: _Token) -> peewee.ColumnBase:
    column = spec.column
    bare = value.kind == "word"
    if bare and value.text == "null":
        if op not in ("=", "!="):
            raise _error(f"{name}: null can only be compared with = or !=")
        return column.is_null(op == "=")
    if bare and value.text == "*" and op == ":":
        return column.is_null(False)
    if op not in _OPERATORS.get(spec.kind, _ORDERED):
        allowed = " ".join(_OPERATORS.get(spec.kind, _ORDERED))
        raise _error(
            f"{name}: operator {op} does not apply to {spec.kind.value} fields; use {allowed}"
            + ("" if op == ":" else " (or :* for 'is set')")
        )
    converted = _convert(name, spec, value)
    if op == ":":
        pattern = "%" + re.sub(r"([!%_])", r"!\1", converted) + "%"
        # ILIKE is PostgreSQL's; Peewee renders it as LIKE (ASCII case-insensitive) on SQLite.
        return peewee.Expression(
            column, "ILIKE", peewee.NodeList((peewee.Value(pattern), peewee.SQL("ESCAPE '!'")))
        )
    return peewee.Expression(column, op, converted)


_EXPECTED = {
    ValueKind.INTEGER: "an integer",
    ValueKind.NUMBER: "a number",
    ValueKind.BOOL: "true or false",
    ValueKind.TIMESTAMP: "a quoted RFC 3339 timestamp",
}


def _convert(name: str, spec: FilterField, value: _Token) -> Any:
    text, bare, kind = value.value, value.kind == "word", spec.kind
    if kind is ValueKind.STRING:
        return text
    if kind is ValueKind.ENUM:
        if text in spec.choices:
            return spec.choices[text]
        raise _error(f"{name}: expected one of {', '.join(spec.choices)}, got {value.shown()}")
    integer = bare and _INTEGER.match(text) is not None
    if kind is ValueKind.INTEGER and integer:
        if INT64[0] <= int(text) <= INT64[1]:
            return int(text)
        raise _error(f"{name}: {value.shown()} is out of the signed 64-bit range")
    if kind is ValueKind.NUMBER and bare and _NUMBER.match(text) and math.isfinite(float(text)):
        return int(text) if integer and INT64[0] <= int(text) <= INT64[1] else float(text)
    if kind is ValueKind.BOOL and bare and text in ("true", "false"):
        return text == "true"
    if kind is ValueKind.TIMESTAMP and not bare and (moment := _timestamp(text)):
        return moment
    raise _error(f"{name}: expected {_EXPECTED[kind]}, got {value.shown()}")


def _timestamp(text: str) -> datetime | None:
    """A naive UTC datetime for an RFC 3339 string, or None."""
    try:
        moment = datetime.fromisoformat(text.upper()) if _RFC3339.match(text) else None
    except ValueError:  # e.g. February 30th
        return None
    return moment and moment.astimezone(UTC).replace(tzinfo=None)


def parse_filter(text: str, fields: Mapping[str, FilterField]) -> peewee.ColumnBase | None:
    """The condition for AIP-160 filter `text` over `fields` (filter name -> field), or None
    when it is blank."""
    if len(text) > MAX_FILTER_LENGTH:
        raise _error(f"is longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in text:  # no stored text holds one, and PostgreSQL refuses it as a parameter
        raise _error(f"has a NUL character at character {text.index(chr(0)) + 1}")
    if not text.strip():
        return None
    return _sql(_Parser(text, fields).parse())
