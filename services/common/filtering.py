"""A small AIP-160 filter subset: equality terms joined by AND, turned into Peewee expressions.

    state = SENT AND event_subject = "0193a…"

Values are bare words or double-quoted strings (with `\\"` and `\\\\` escapes). Only the fields
the caller allows may appear; anything else is INVALID_ARGUMENT naming the problem. Values are
always bound as parameters, never spliced into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

import peewee

from services.common.errors import InvalidArgument

MAX_FILTER_LENGTH = 2048
_TERM = re.compile(
    r'\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"()]+))\s*'
)
_AND = re.compile(r"AND\b")

# A field's column and the function turning the filter's text value into a column value
# (raising ValueError for a bad one).
FilterField = tuple[peewee.Field, Callable[[str], Any]]


def parse_filter(text: str, fields: Mapping[str, FilterField]) -> peewee.Expression | None:
    """The expression for `text`, or None when it is empty."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument.field("filter", f"is longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        return None
    terms = []
    position = 0
    while True:
        match = _TERM.match(text, position)
        if not match:
            raise InvalidArgument.field(
                "filter", f"expected `field = value` at character {position + 1}"
            )
        terms.append(_term(match, fields))
        position = match.end()
        if position == len(text):
            break
        joiner = _AND.match(text, position)
        if not joiner:
            raise InvalidArgument.field("filter", f"expected AND at character {position + 1}")
        position = joiner.end()
    return reduce(lambda a, b: a & b, terms)


def _term(match: re.Match[str], fields: Mapping[str, FilterField]) -> peewee.Expression:
    name = match.group("field")
    if name not in fields:
        known = ", ".join(sorted(fields))
        raise InvalidArgument.field("filter", f"unknown field {name!r}; filter on: {known}")
    quoted = match.group("quoted")
    text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group("bare")
    column, convert = fields[name]
    try:
        value = convert(text)
    except ValueError as exc:
        raise InvalidArgument.field("filter", f"{name}: {exc}") from exc
    return column == value
