"""Page sizes and signed page tokens: typed round trips, and every kind of tampering refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import peewee
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import InvalidArgument
from services.common.filtering import ValueKind
from services.common.ordering import SortKey
from services.common.pagination import PageTokens, page_size

TOKENS = PageTokens(b"0123456789abcdef0123456789abcdef")
QUERY = "things\nviews > 3\nseen desc"


def _keys(*kinds: ValueKind) -> list[SortKey]:
    return [SortKey(f"k{i}", peewee.Field(), kind, i % 2 == 1) for i, kind in enumerate(kinds)]


KEYS = _keys(
    ValueKind.STRING,
    ValueKind.INTEGER,
    ValueKind.NUMBER,
    ValueKind.BOOL,
    ValueKind.TIMESTAMP,
    ValueKind.ENUM,
    ValueKind.TIMESTAMP,
)
VALUES = [
    'Zoë "q" \\ \'',
    2**63 - 1,
    -0.1,
    False,
    datetime(2026, 1, 2, 3, 4, 5, 678901),
    "SENT",
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


def _refused(token: str, keys: list[SortKey] = KEYS, query: str = QUERY) -> str:
    with pytest.raises(InvalidArgument) as caught:
        TOKENS.decode(token, keys, query)
    assert caught.value.violations[0][0] == "page_token"
    return caught.value.message


def test_page_size_bounds():
    assert page_size(0) == 50
    assert page_size(7) == 7
    assert page_size(5000) == 1000
    with pytest.raises(InvalidArgument, match="page_size: must not be negative"):
        page_size(-1)


def test_values_round_trip_with_their_types():
    token = TOKENS.encode(KEYS, VALUES, QUERY)
    decoded = TOKENS.decode(token, KEYS, QUERY)
    assert decoded == VALUES
    assert [type(v) for v in decoded] == [type(v) for v in VALUES]
    assert decoded[6].utcoffset() == timedelta(hours=5, minutes=30)
    assert TOKENS.decode("", KEYS, QUERY) is None
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_none_ints_and_floats_stay_what_they_were():
    keys = _keys(ValueKind.NUMBER, ValueKind.NUMBER, ValueKind.INTEGER, ValueKind.TIMESTAMP)
    values: list[Any] = [3, 3.0, None, None]
    decoded = TOKENS.decode(TOKENS.encode(keys, values, ""), keys, "")
    assert decoded == values and type(decoded[0]) is int and type(decoded[1]) is float


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just(ValueKind.STRING), st.none() | st.text()),
            st.tuples(st.just(ValueKind.INTEGER), st.none() | st.integers(-(2**63), 2**63 - 1)),
            st.tuples(st.just(ValueKind.NUMBER), st.floats(allow_nan=False) | st.integers()),
            st.tuples(st.just(ValueKind.BOOL), st.booleans()),
            st.tuples(st.just(ValueKind.TIMESTAMP), st.none() | st.datetimes()),
            st.tuples(st.just(ValueKind.TIMESTAMP), st.datetimes(timezones=st.just(UTC))),
        ),
        min_size=1,
        max_size=4,
    ),
    st.text(max_size=50),
)
@settings(max_examples=100, deadline=None)
def test_any_values_round_trip(items: list[tuple[ValueKind, Any]], query: str):
    keys = _keys(*(kind for kind, _ in items))
    values = [value for _, value in items]
    decoded = TOKENS.decode(TOKENS.encode(keys, values, query), keys, query)
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]


def test_every_changed_character_is_refused():
    token = TOKENS.encode(KEYS, VALUES, QUERY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, char in enumerate(token):
        for other in (
            alphabet[(alphabet.index(char) + 1) % 64],
            alphabet[alphabet.index(char) ^ 1],
        ):
            changed = token[:i] + other + token[i + 1 :]
            assert _refused(changed) == "page_token: is not a token this API returned", i


def test_changed_values_truncation_and_padding_are_refused():
    token = TOKENS.encode(KEYS, VALUES, QUERY)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged_values = raw.replace(b"9223372036854775807", b"9223372036854775806")
    assert forged_values != raw
    for forged in [
        base64.urlsafe_b64encode(forged_values).decode().rstrip("="),
        token[:-1],
        token[:20],
        token + "A",
        token + "==",
        token + "\n",
        " " + token,
        token[:-1] + "+",
        token[:-1] + "/",
        "garbage!",
        "x" * 500,
        "e30",
        "AAAA",
    ]:
        assert _refused(forged) == "page_token: is not a token this API returned", forged


def test_a_value_cannot_be_swapped_even_with_a_matching_fingerprint():
    """The MAC covers the values: re-encoding other values under the same header fails."""
    keys = _keys(ValueKind.INTEGER)
    token = TOKENS.encode(keys, [10], QUERY)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    header = raw[: len(raw) - len(b"[10]")]
    forged = base64.urlsafe_b64encode(header + json.dumps([999]).encode()).decode().rstrip("=")
    assert _refused(forged, keys) == "page_token: is not a token this API returned"


def test_a_token_of_another_query_or_order_is_refused():
    token = TOKENS.encode(KEYS, VALUES, QUERY)
    assert _refused(token, query=QUERY + " ") == "page_token: belongs to a different query"
    flipped = [SortKey(k.name, k.column, k.kind, not k.descending) for k in KEYS]
    assert _refused(token, keys=flipped) == "page_token: belongs to a different query"
    assert _refused(token, keys=KEYS[:-1]) == "page_token: belongs to a different query"


def test_a_token_signed_with_another_key_is_refused():
    token = PageTokens(b"another key, 32 bytes long......").encode(KEYS, VALUES, QUERY)
    assert _refused(token) == "page_token: is not a token this API returned"
    with pytest.raises(ValueError):
        PageTokens(b"short")


@settings(max_examples=100, deadline=None)
@given(
    st.text(max_size=200)
    | st.binary(max_size=120).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
)
def test_arbitrary_tokens_are_refused(token: str):
    if token:
        _refused(token)
