from __future__ import annotations

import peewee
import pytest

from services.common.errors import InvalidArgument
from services.common.filtering import parse_filter
from services.common.pagination import decode_token, encode_token, page_size

db = peewee.SqliteDatabase(":memory:")


class Item(peewee.Model):
    name = peewee.CharField()
    state = peewee.CharField()

    class Meta:
        database = db


def _state(text: str) -> str:
    if text not in {"ON", "OFF"}:
        raise ValueError(f"unknown state {text!r}")
    return text


FIELDS = {"name": (Item.name, str), "state": (Item.state, _state)}


def test_token_round_trip_and_query_binding():
    token = encode_token("0193-abc", "q1")
    assert decode_token(token, "q1") == "0193-abc"
    assert decode_token("", "q1") is None
    with pytest.raises(InvalidArgument, match="different query"):
        decode_token(token, "q2")


@pytest.mark.parametrize("token", ["garbage!", "e30", "bnVsbA", "x" * 500])
def test_bad_tokens(token: str):
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_token(token, "")


def test_page_size_bounds():
    assert page_size(0) == 50
    assert page_size(5000) == 1000
    with pytest.raises(InvalidArgument, match="page_size"):
        page_size(-1)


def test_filter_terms_become_bound_parameters():
    expression = parse_filter('name = "a \\"quoted\\" name" AND state = ON', FIELDS)
    sql, params = Item.select().where(expression).sql()
    assert params == ['a "quoted" name', "ON"]
    assert "quoted" not in sql
    assert parse_filter("  ", FIELDS) is None


@pytest.mark.parametrize(
    "text",
    [
        "nope = 1",
        "name",
        "name = ",
        "name = x OR state = ON",
        "name = x AND",
        "state = MAYBE",
        "name = x; DROP TABLE item",
        "(name = x)",
        "x" * 3000,
    ],
)
def test_bad_filters(text: str):
    with pytest.raises(InvalidArgument, match="filter"):
        parse_filter(text, FIELDS)
