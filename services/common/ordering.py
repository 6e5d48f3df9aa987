"""AIP-132 `order_by`: parsing it into sort keys, and the keyset conditions that page through them.

    keys = parse_order_by("views desc, create_time", sortable)   # + "id" as the tiebreak
    query.order_by(*order_clauses(keys)).where(after_condition(keys, last_values))

The tiebreak (a unique column) always ends the keys, so the order is total and a page ends at a
well-defined row. NULLs sort where the database puts them natively — before every value on
SQLite, after every value on PostgreSQL — so that plain indexes serve the ORDER BY on both, and
`after_condition` places NULL key values the same way. Over NOT NULL columns it compares row
values, `(k1, k2) > (v1, v2)`, which both databases answer from a composite index. Paging is by
keyset only, never OFFSET: rows inserted or deleted between pages neither shift nor repeat the
others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import peewee

from services.common.errors import InvalidArgument
from services.common.filtering import FilterField, ValueKind

MAX_ORDER_BY_LENGTH = 1024
_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*\Z", re.IGNORECASE)


@dataclass(frozen=True)
class SortKey:
    name: str
    column: peewee.ColumnBase
    kind: ValueKind
    descending: bool

    @property
    def nullable(self) -> bool:
        return getattr(self.column, "null", True)

    @property
    def nulls_first(self) -> bool:
        """Whether NULL comes before every value in this key's order (database-native)."""
        model = getattr(self.column, "model", None)
        null_is_smallest = model is None or isinstance(model._meta.database, peewee.SqliteDatabase)
        return null_is_smallest != self.descending


def parse_order_by(
    text: str, sortable: Mapping[str, FilterField], tiebreak: str = "id", default: str = "id"
) -> list[SortKey]:
    """The sort keys for `text` ("views desc, create_time"; `default` when blank), ending with
    `tiebreak` ascending unless it is already there. `tiebreak` must be sortable and unique."""
    if tiebreak not in sortable:
        raise ValueError(f"the tiebreak {tiebreak!r} is not among the sortable fields")
    if len(text) > MAX_ORDER_BY_LENGTH:
        raise InvalidArgument.field("order_by", f"is longer than {MAX_ORDER_BY_LENGTH} characters")
    known = ", ".join(sorted(sortable))
    keys: list[SortKey] = []
    for item in (text if text.strip() else default).split(","):
        match = _ITEM.match(item)
        if match is None:
            raise InvalidArgument.field(
                "order_by",
                f"expected `field` or `field desc`, got {item.strip()[:40]!r}; sort by: {known}",
            )
        name, direction = match.group(1), (match.group(2) or "asc").lower()
        if name not in sortable:
            raise InvalidArgument.field(
                "order_by", f"cannot sort by {name[:40]!r}; sort by: {known}"
            )
        if any(key.name == name for key in keys):
            raise InvalidArgument.field("order_by", f"names {name!r} more than once")
        spec = sortable[name]
        keys.append(SortKey(name, spec.column, spec.kind, direction == "desc"))
    if all(key.name != tiebreak for key in keys):
        spec = sortable[tiebreak]
        keys.append(SortKey(tiebreak, spec.column, spec.kind, False))
    return keys


def order_clauses(keys: Sequence[SortKey]) -> list[peewee.Ordering]:
    """ORDER BY terms, NULLs where the database puts them (see `SortKey.nulls_first`)."""
    return [key.column.desc() if key.descending else key.column.asc() for key in keys]


def _beyond(key: SortKey, value: Any) -> peewee.Expression | None:
    """Rows whose `key` sorts strictly after `value`; None when none can."""
    column = key.column
    if value is None:
        return column.is_null(False) if key.nulls_first else None
    after = column < value if key.descending else column > value
    if key.nullable and not key.nulls_first:
        return after | column.is_null()
    return after


def _same(key: SortKey, value: Any) -> peewee.Expression:
    return key.column.is_null() if value is None else key.column == value


def after_condition(keys: Sequence[SortKey], values: Sequence[Any]) -> peewee.Expression:
    """Rows strictly after the row whose key values are `values`, in the order of `keys`:
    `k1 beyond v1 OR (k1 = v1 AND (k2 beyond v2 OR (...)))`, with NULL-aware branches."""
    if len(keys) != len(values) or not keys:
        raise ValueError("after_condition needs one value for each of one or more keys")
    directions = {key.descending for key in keys}
    if len(directions) == 1 and not any(key.nullable for key in keys):
        columns = peewee.Tuple(*(key.column for key in keys))
        bound = peewee.Tuple(*values)
        return columns < bound if keys[0].descending else columns > bound
    condition: peewee.Expression | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        beyond = _beyond(key, value)
        tail = None if condition is None else _same(key, value) & condition
        if beyond is None or tail is None:
            condition = beyond if tail is None else tail
        else:
            condition = beyond | tail
    if condition is None:  # the last row there can be
        return peewee.Value(1) == peewee.Value(0)
    return condition


def key_values(keys: Sequence[SortKey], row: peewee.Model) -> list[Any]:
    """The values of `keys` on `row` (read by each column's name), to continue after it."""
    return [getattr(row, key.column.name) for key in keys]
