"""AIP-132 order_by and keyset paging, on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.database import open_database
from services.common.errors import InvalidArgument
from services.common.filtering import FilterField, ValueKind
from services.common.ordering import (
    SortKey,
    after_condition,
    key_values,
    order_clauses,
    parse_order_by,
)
from services.common.pagination import PageTokens

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TOKENS = PageTokens(b"k" * 32)
_IDS = itertools.count(1)


def row_model(db: peewee.Database) -> type[peewee.Model]:
    collation = '"C"' if isinstance(db, peewee.PostgresqlDatabase) else None

    class Row(peewee.Model):
        # ids are never reused, as records' are (SQLite would hand out a deleted top rowid again)
        id = peewee.BigIntegerField(primary_key=True)
        a = peewee.BigIntegerField(null=True)
        b = peewee.TextField(null=True, collation=collation)
        c = peewee.DateTimeField(null=True)
        d = peewee.BooleanField(null=True)
        e = peewee.DoubleField(null=True)

        class Meta:
            database = db
            table_name = "rows"

    return Row


def sortable(model: Any) -> dict[str, FilterField]:
    return {
        "a": FilterField(model.a, ValueKind.INTEGER),
        "b": FilterField(model.b, ValueKind.STRING),
        "c": FilterField(model.c, ValueKind.TIMESTAMP),
        "d": FilterField(model.d, ValueKind.BOOL),
        "e": FilterField(model.e, ValueKind.NUMBER),
        "id": FilterField(model.id, ValueKind.INTEGER),
    }


OFFLINE = sortable(row_model(peewee.SqliteDatabase(None)))


@pytest.fixture
def rows(database_url: str) -> Iterator[Any]:
    db = open_database(database_url, pool_size=2)
    model = row_model(db)
    db.create_tables([model])
    yield model
    getattr(db, "close_all", db.close)()


def _spelled(keys: list[SortKey]) -> list[str]:
    return [f"{key.name} desc" if key.descending else key.name for key in keys]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("", ["id"]),
        ("   ", ["id"]),
        ("a desc, c", ["a desc", "c", "id"]),
        ("a DESC ,b asc", ["a desc", "b", "id"]),
        ("id desc", ["id desc"]),
        ("b, id desc, a", ["b", "id desc", "a"]),
        ("e\tdesc", ["e desc", "id"]),
    ],
)
def test_order_by_parses_and_ends_with_the_tiebreak(text: str, keys: list[str]):
    assert _spelled(parse_order_by(text, OFFLINE)) == keys


def test_blank_order_by_means_the_default():
    assert _spelled(parse_order_by("", OFFLINE, default="c desc")) == ["c desc", "id"]
    assert _spelled(parse_order_by(" ", OFFLINE, default="id desc")) == ["id desc"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("views", "cannot sort by 'views'; sort by: a, b, c, d, e, id"),
        ("a desc desc", "expected `field` or `field desc`, got 'a desc desc'; sort by: a, b"),
        ("a,,b", "expected `field` or `field desc`, got ''"),
        ("a,", "expected `field` or `field desc`, got ''"),
        ("a.b", "expected `field` or `field desc`, got 'a.b'"),
        ("-a", "expected `field` or `field desc`"),
        ("a, a desc", "names 'a' more than once"),
        ("a; DROP TABLE rows", "expected `field` or `field desc`"),
        ("a," * 600, "is longer than 1024 characters"),
    ],
)
def test_bad_order_by_names_the_problem(text: str, problem: str):
    with pytest.raises(InvalidArgument) as caught:
        parse_order_by(text, OFFLINE)
    assert caught.value.violations == [("order_by", caught.value.message[len("order_by: ") :])]
    assert problem in caught.value.message


def test_the_tiebreak_must_be_sortable():
    with pytest.raises(ValueError, match="tiebreak"):
        parse_order_by("", OFFLINE, tiebreak="uuid")


def _fill(model: Any, values: list[dict[str, Any]]) -> list[int]:
    with model._meta.database.atomic():
        return [model.create(id=next(_IDS), **row).id for row in values]


def _sqlite(rows: Any) -> bool:
    return isinstance(rows._meta.database, peewee.SqliteDatabase)


def test_nulls_sort_where_the_database_puts_them(rows: Any):
    """SQLite: NULL before every value; PostgreSQL: after. Plain indexes serve either."""
    ids = _fill(rows, [{"a": None}, {"a": 2}, {"a": 1}, {"a": None}, {"a": 1}])
    fields = sortable(rows)

    def order(text: str) -> list[int]:
        keys = parse_order_by(text, fields)
        return [row.id for row in rows.select().order_by(*order_clauses(keys))]

    nulls, values = [ids[0], ids[3]], [ids[2], ids[4], ids[1]]
    assert order("a") == (nulls + values if _sqlite(rows) else values + nulls)
    down = [ids[1], ids[2], ids[4]]
    assert order("a desc") == (down + nulls if _sqlite(rows) else nulls + down)
    down_by_id = [ids[1], ids[4], ids[2]]
    nulls_by_id = [ids[3], ids[0]]
    expected = down_by_id + nulls_by_id if _sqlite(rows) else nulls_by_id + down_by_id
    assert order("a desc, id desc") == expected


def test_after_condition_and_key_values(rows: Any):
    ids = _fill(rows, [{"a": None, "b": "x"}, {"a": 1, "b": None}, {"a": 1, "b": "y"}])
    fields = sortable(rows)
    keys = parse_order_by("a, b desc", fields)
    full = [row.id for row in rows.select().order_by(*order_clauses(keys))]
    for position, row_id in enumerate(full):
        row = rows.get_by_id(row_id)
        after = rows.select().where(after_condition(keys, key_values(keys, row)))
        assert [r.id for r in after.order_by(*order_clauses(keys))] == full[position + 1 :]
    assert key_values(keys, rows.get_by_id(ids[0])) == [None, "x", ids[0]]
    # Nothing sorts after NULL in a key that ends the order where NULLs go last.
    last = [SortKey("b", rows.b, ValueKind.STRING, descending=_sqlite(rows))]
    assert rows.select().where(after_condition(last, [None])).count() == 0
    with pytest.raises(ValueError):
        after_condition(keys, [1])


# -- property: pages, joined, are exactly the ORDER BY result -------------------------------

MOMENTS = [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 0, 1), datetime(1999, 5, 5, 5)]
ROW = st.fixed_dictionaries(
    {
        "a": st.none() | st.integers(-1, 1) | st.just(2**63 - 1),
        "b": st.none() | st.sampled_from(["", "a", "B", "b", "ab"]),
        "c": st.none() | st.sampled_from(MOMENTS),
        "d": st.none() | st.booleans(),
        "e": st.none() | st.sampled_from([-0.5, 0.0, 1.25]),
    }
)
ORDER_BY = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "id"]), st.booleans()),
    min_size=1,
    max_size=3,
    unique_by=lambda item: item[0],
).map(lambda keys: ", ".join(f"{name} desc" if desc else name for name, desc in keys))


def _ordered_ids(model: Any, keys: list[SortKey]) -> list[int]:
    return [row.id for row in model.select(model.id).order_by(*order_clauses(keys))]


def _page(model: Any, keys: list[SortKey], size: int, token: str, query: str):
    after = TOKENS.decode(token, keys, query)
    select = model.select().order_by(*order_clauses(keys)).limit(size + 1)
    if after is not None:
        select = select.where(after_condition(keys, after))
    found = list(select)
    if len(found) <= size:
        return [row.id for row in found], ""
    last = key_values(keys, found[size - 1])
    return [row.id for row in found[:size]], TOKENS.encode(keys, last, query)


@SETTINGS
@given(data=st.lists(ROW, max_size=25), order_by=ORDER_BY, size=st.integers(1, 7))
def test_pages_join_into_the_full_order(rows: Any, data: list[dict], order_by: str, size: int):
    rows.delete().execute()
    _fill(rows, data)
    keys = parse_order_by(order_by, sortable(rows))
    seen, token = [], ""
    for _ in range(len(data) + 1):
        ids, token = _page(rows, keys, size, token, order_by)
        assert len(ids) <= size
        seen += ids
        if not token:
            break
    assert not token, "more pages than rows"
    assert seen == _ordered_ids(rows, keys)


@SETTINGS
@given(
    data=st.lists(ROW, max_size=20),
    order_by=ORDER_BY,
    size=st.integers(1, 5),
    changes=st.lists(st.tuples(st.lists(ROW, max_size=2), st.integers(0, 3)), max_size=12),
)
def test_pages_stay_right_while_rows_come_and_go(
    rows: Any, data: list[dict], order_by: str, size: int, changes: list[tuple[list[dict], int]]
):
    """Between pages, insert rows and delete some not yet listed (the one a token points at
    included): every row there from start to end is listed exactly once, in order."""
    rows.delete().execute()
    before = set(_fill(rows, data))
    keys = parse_order_by(order_by, sortable(rows))
    seen, token, deleted = [], "", set()
    for step in range(len(data) + 2 * len(changes) + 1):
        ids, token = _page(rows, keys, size, token, order_by)
        seen += ids
        if not token:
            break
        added, delete = changes[step] if step < len(changes) else ([], 0)
        _fill(rows, added)
        victims = [i for i in _ordered_ids(rows, keys) if i not in seen][:delete] + seen[-1:]
        rows.delete().where(rows.id.in_(victims)).execute()
        deleted.update(victims)
    assert not token
    assert len(seen) == len(set(seen))
    assert set(seen) >= before - deleted
    final = _ordered_ids(rows, keys)
    survivors = [i for i in seen if i in set(final)]
    assert survivors == [i for i in final if i in set(survivors)]
