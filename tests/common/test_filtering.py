"""AIP-160 filters run against real rows on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.database import open_database
from services.common.errors import InvalidArgument
from services.common.filtering import FilterField, ValueKind, parse_filter

CHOICES = {"ON": "on", "OFF": "off"}
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def thing_model(db: peewee.Database) -> type[peewee.Model]:
    """A column of each kind, all nullable. Text compares bytewise (PostgreSQL's "C"
    collation, SQLite's default BINARY), as Python does, so the oracle below can compare."""
    collation = '"C"' if isinstance(db, peewee.PostgresqlDatabase) else None

    class Thing(peewee.Model):
        tag = peewee.CharField()
        name = peewee.TextField(null=True, collation=collation)
        views = peewee.BigIntegerField(null=True)
        score = peewee.DoubleField(null=True)
        done = peewee.BooleanField(null=True)
        seen = peewee.DateTimeField(null=True)
        state = peewee.CharField(null=True)

        class Meta:
            database = db
            table_name = "things"

    return Thing


def filter_fields(model: Any) -> dict[str, FilterField]:
    return {
        "name": FilterField(model.name, ValueKind.STRING),
        "views": FilterField(model.views, ValueKind.INTEGER),
        "score": FilterField(model.score, ValueKind.NUMBER),
        "done": FilterField(model.done, ValueKind.BOOL),
        "seen": FilterField(model.seen, ValueKind.TIMESTAMP),
        "state": FilterField(model.state, ValueKind.ENUM, CHOICES),
    }


ROWS = [
    ("a", "Alpha", 10, 1.5, True, datetime(2026, 1, 1), "on"),
    ("b", "beta 50%_off", -5, -2.25, False, datetime(2026, 1, 2, 3, 4, 5, 123456), "off"),
    ("c", 'O\'Brien "q" \\', 0, 1000.0, True, datetime(2025, 12, 31, 23, 59, 59), "on"),
    ("d", None, None, None, None, None, None),
    ("e", "gamma!", 2**63 - 1, 0.0, False, datetime(2026, 6, 1, 12), "off"),
]
COLUMNS = ("tag", "name", "views", "score", "done", "seen", "state")


@pytest.fixture
def things(database_url: str) -> Iterator[Any]:
    db = open_database(database_url, pool_size=2)
    model = thing_model(db)
    db.create_tables([model])
    model.insert_many(ROWS, fields=[getattr(model, c) for c in COLUMNS]).execute()
    yield model
    getattr(db, "close_all", db.close)()


def matching(model: Any, text: str) -> set[str]:
    condition = parse_filter(text, filter_fields(model))
    query = model.select(model.tag)
    if condition is not None:
        query = query.where(condition)
    return {row.tag for row in query}


CASES = [
    # text
    ('name = "Alpha"', "a"),
    ("name = Alpha", "a"),
    ("name != 'Alpha'", "bce"),
    ('name < "O"', "a"),
    ('name <= "Alpha"', "a"),
    ('name > "beta"', "be"),
    ('name >= "gamma!"', "e"),
    ('name:"ALP"', "a"),
    ("name:alp", "a"),
    ('name:"a_p"', ""),  # `_` is no wildcard
    ('name:"50%_"', "b"),
    ('name:"%"', "b"),
    ('name:"!"', "e"),
    ('name:""', "abce"),
    ('name:"\'"', "c"),
    (r'name = "O\'Brien \"q\" \\"', "c"),
    (r"name = 'O\'Brien \"q\" \\'", "c"),
    ("name:*", "abce"),
    ("name = null", "d"),
    ("name != null", "abce"),
    # integers
    ("views = 10", "a"),
    ("views != 10", "bce"),
    ("views < 0", "b"),
    ("views <= 0", "bc"),
    ("views > -5", "ace"),
    ("views >= -5", "abce"),
    ("views = 9223372036854775807", "e"),
    ("views = -9223372036854775808", ""),
    ("views:*", "abce"),
    # numbers
    ("score = 1.5", "a"),
    ("score != 1.5", "bce"),
    ("score < 0", "b"),
    ("score <= 0.0", "be"),
    ("score > 1.5", "c"),
    ("score >= 1e3", "c"),
    ("score = 1000", "c"),
    ("score = -2.25", "b"),
    ("score > -3", "abce"),
    ("score < .5", "be"),
    ("score >= 1.0E+3", "c"),
    # booleans
    ("done = true", "ac"),
    ("done = false", "be"),
    ("done != true", "be"),
    ("done = null", "d"),
    # timestamps, with offsets
    ('seen = "2026-01-01T00:00:00Z"', "a"),
    ('seen = "2026-01-01T01:00:00+01:00"', "a"),
    ('seen = "2025-12-31T19:00:00-05:00"', "a"),
    ('seen = "2026-01-01t00:00:00z"', "a"),
    ('seen != "2026-01-01T00:00:00Z"', "bce"),
    ('seen > "2026-01-02T03:04:05Z"', "be"),
    ('seen >= "2026-01-02T03:04:05.123456Z"', "be"),
    ('seen = "2026-01-02T03:04:05.1234569Z"', "b"),
    ('seen < "2026-01-01T00:00:00Z"', "c"),
    ('seen <= "2026-01-01T05:30:00+05:30"', "ac"),
    ("seen:*", "abce"),
    # enums
    ("state = ON", "ac"),
    ('state = "OFF"', "be"),
    ("state != ON", "be"),
    ("state = null", "d"),
    # logic and precedence
    ("views > 0 AND done = true", "a"),
    ("views > 0 done = true", "a"),
    ("views = 10 OR views = -5", "ab"),
    ("done = true AND views = 10 OR views = 0", "ac"),
    ("views = 0 OR views = 10 AND done = false", ""),  # (0 OR 10) AND false
    ("views = -5 done = false OR views = 10", "b"),  # -5 AND (false OR 10)
    ("(views = 0 OR views = 10) AND done = true", "ac"),
    ("views = 0 OR (views = 10 AND done = false)", "c"),
    ("NOT views = 10", "bce"),  # NULL is unknown, not "not 10"
    ("-views = 10", "bce"),
    ("-(views = 10 OR views = 0)", "be"),
    ("- views = 10", "bce"),
    ("NOT (state = ON)", "be"),
    ("NOT done = true AND name:*", "be"),
    ("-name:*", "d"),
    ("((((views = 10))))", "a"),
    ("views>0 AND(done=true)", "a"),
    ("   ", "abcde"),
    ("", "abcde"),
]


def test_filters_select_the_right_rows(things: Any):
    found = [(text, tags, matching(things, text)) for text, tags in CASES]
    assert [case for case in found if case[2] != set(case[1])] == []


BAD = [
    ("nope = 1", 'unknown field "nope" at character 1; fields: name, views, score'),
    ("views = abc", 'views: expected an integer, got "abc"'),
    ('views = "10"', "views: expected an integer"),
    ("views = 1.5", "views: expected an integer"),
    ("views = 9223372036854775808", 'views: "9223372036854775808" is out of the signed 64-bit'),
    ("score = abc", "score: expected a number"),
    ("score = 1e999", "score: expected a number"),
    ("score = nan", "score: expected a number"),
    ("done = yes", "done: expected true or false"),
    ('done = "true"', "done: expected true or false"),
    ("done < true", "done: operator < does not apply to bool fields; use = !="),
    ("seen = 2026", "seen: expected a quoted RFC 3339 timestamp"),
    ('seen = "2026-01-01"', "seen: expected a quoted RFC 3339 timestamp"),
    ('seen = "2026-01-01T00:00:00"', "seen: expected a quoted RFC 3339 timestamp"),
    ('seen = "2026-13-01T00:00:00Z"', "seen: expected a quoted RFC 3339 timestamp"),
    ('seen = "2026-01-01T00:00:00+24:00"', "seen: expected a quoted RFC 3339 timestamp"),
    ('seen:"2026"', "seen: operator : does not apply"),
    ("state = MAYBE", 'state: expected one of ON, OFF, got "MAYBE"'),
    ("state = on", "state: expected one of ON, OFF"),
    ("state > ON", "state: operator > does not apply to enum fields"),
    ("views:5", "views: operator : does not apply"),
    ("views < null", "views: null can only be compared with = or !="),
    ('name = "abc', "unterminated string at character 8"),
    ("name = 'abc", "unterminated string at character 8"),
    ("name", "expected an operator after name at the end of the filter"),
    ("name =", "expected a value after name = at the end of the filter"),
    ("name = AND", 'expected a value after name = at character 8, got "AND"'),
    ("= 1", "expected a field or '(' at character 1"),
    ("views = 1 AND", "at the end of the filter"),
    ("views = 1 OR", "at the end of the filter"),
    ("(views = 1", "expected ')' at the end of the filter"),
    ("views = 1)", 'unexpected ")" at character 10'),
    ("NOT NOT views = 1", "expected a field or '(' at character 5, got \"NOT\""),
    ("views ! 1", "unexpected '!' at character 7"),
    ("name.first = x", "expected a field name at character 1"),
    ("views = 1 2", 'expected a field name at character 11, got "2"'),
    ("Views = 1", 'unknown field "Views"'),
    ("views = 1 and views = 2", 'unknown field "and"'),
    ("name = a\x00b", "has a NUL character at character 9"),
]


OFFLINE = filter_fields(thing_model(peewee.SqliteDatabase(None)))  # parsing needs no database


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_filters_name_the_problem(text: str, problem: str):
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text, OFFLINE)
    assert caught.value.violations[0][0] == "filter"
    assert problem in caught.value.message


def test_values_are_bound_parameters():
    condition = parse_filter('name = "x\' OR 1=1 --" AND views > 3', OFFLINE)
    sql, params = OFFLINE["name"].column.model.select().where(condition).sql()
    assert params == ["x' OR 1=1 --", 3]
    assert "1=1" not in sql


INJECTIONS = [
    'name = "x\' OR 1=1 --"',
    'name = "a\\"; DROP TABLE things; --"',
    'name:"%\' OR 1=1; DELETE FROM things; --"',
    "name = 'x\\' OR 1=1 --'",
]
HOSTILE = [
    ("name = 'x'' OR ''1''=''1'", "expected a field or '(' at character 11, got ' OR '"),
    ('name = "a"; DROP TABLE things', 'expected a field name at character 11, got ";"'),
    ("name = a; DELETE FROM things", 'unknown field "DELETE"'),
    ("(" * 1000 + "views = 1" + ")" * 1000, "nests parentheses deeper than 32 levels"),
    ("views = 1 AND " * 800, "is longer than 4096 characters"),
    ("views = 1 " * 201, "has more than 200 comparisons"),
    ("NOT " * 1000 + "views = 1", "expected a field or '(' at character 5, got \"NOT\""),
    ("-" * 4000 + "views = 1", "expected a field name at character 2"),
]


def test_injections_are_plain_values_and_hostile_filters_are_refused(things: Any):
    before = sorted(things.select().tuples())
    assert [text for text in INJECTIONS if matching(things, text)] == []
    for text, problem in HOSTILE:
        started = time.monotonic()
        with pytest.raises(InvalidArgument) as caught:
            matching(things, text)
        assert problem in caught.value.message, text
        assert time.monotonic() - started < 0.5, text
    assert sorted(things.select().tuples()) == before


def test_the_limits_themselves_are_accepted(things: Any):
    assert matching(things, " OR ".join(["views = 10"] * 200)) == {"a"}
    assert matching(things, "(" * 32 + "views = 10" + ")" * 32) == {"a"}
    nested = "views = 10"
    for _ in range(31):
        nested = f"name:* AND ({nested} OR views = 10)"
    assert matching(things, nested) == {"a"}


def test_enum_names_map_to_stored_values(things: Any):
    fields = {"state": FilterField(things.state, ValueKind.ENUM, {"LIT": "on", "DARK": "off"})}
    assert {r.tag for r in things.select().where(parse_filter("state = LIT", fields))} == {"a", "c"}
    with pytest.raises(ValueError):
        FilterField(things.state, ValueKind.ENUM)
    with pytest.raises(ValueError):
        FilterField(things.name, ValueKind.STRING, {"A": "a"})


# -- property: any text either parses into a runnable condition or is INVALID_ARGUMENT ------

FRAGMENTS = [
    *("name", "views", "score", "done", "seen", "state", "nope", "Name"),
    *("=", "!=", "<", "<=", ">", ">=", ":", "!", "*", "-", "(", ")", '"', "'", "\\"),
    *("AND", "OR", "NOT", "and", "null", "true", "false", "ON", "OFF"),
    *("0", "-1", "1.5", "-2e3", ".5", "9223372036854775808", "1e999", "abc", "%", "_"),
    *('"x y"', "'it''s'", '"2026-01-01T00:00:00Z"', '"2026-01-01T00:00:00+05:30"', '"a\\"b"'),
]


@SETTINGS
@given(
    text=st.one_of(
        st.text(max_size=120),
        st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(" ".join),
        st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
    )
)
def test_any_text_parses_or_is_invalid_argument(things: Any, text: str):
    try:
        condition = parse_filter(text, filter_fields(things))
    except InvalidArgument as exc:
        assert exc.violations[0][0] == "filter"
        return
    if condition is not None:
        things.select().where(condition).count()  # runs on the database without error


# -- property: the database agrees with a Python evaluation of the same filter ---------------

TEXT = st.text(alphabet="abAB %_!'\"\\", max_size=4)
MOMENTS = [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 0, 500), datetime(1999, 12, 31, 23)]
ROW = st.fixed_dictionaries(
    {
        "name": st.none() | TEXT,
        "views": st.none() | st.integers(-3, 3),
        "score": st.none() | st.sampled_from([-1.5, 0.0, 0.5, 2.0]),
        "done": st.none() | st.booleans(),
        "seen": st.none() | st.sampled_from(MOMENTS),
        "state": st.none() | st.sampled_from(sorted(CHOICES.values())),
    }
)
ORDERED = ["=", "!=", "<", "<=", ">", ">="]
FIELDS = ["name", "views", "score", "done", "seen", "state"]


def _quoted(text: str, quote: str) -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _rfc3339(moment: datetime, minutes: int) -> str:
    zone = timezone(timedelta(minutes=minutes))
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    return local.isoformat().replace("+00:00", "Z")


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[str, str, str, Any]:
    """(field, operator, value as written, value for the oracle); None stands for null."""
    field = draw(st.sampled_from(FIELDS))
    if draw(st.integers(0, 9)) == 0:
        op = draw(st.sampled_from(["=", "!=", ":"]))
        return (field, ":", "*", "*") if op == ":" else (field, op, "null", None)
    if field == "name":
        op = draw(st.sampled_from([*ORDERED, ":"]))
        value = draw(TEXT)
        written = draw(st.sampled_from([_quoted(value, '"'), _quoted(value, "'")]))
        if value.isalpha() and value not in ("AND", "OR", "NOT"):
            written = draw(st.sampled_from([written, value]))
        return field, op, written, value
    if field == "views":
        value = draw(st.integers(-4, 4) | st.sampled_from([-(2**63), 2**63 - 1]))
        return field, draw(st.sampled_from(ORDERED)), str(value), value
    if field == "score":
        value = draw(st.sampled_from([-1.5, -1, 0.0, 0.25, 0.5, 2, 2.0, 3.75]))
        return field, draw(st.sampled_from(ORDERED)), repr(value), value
    if field == "done":
        value = draw(st.booleans())
        return field, draw(st.sampled_from(["=", "!="])), str(value).lower(), value
    if field == "seen":
        value = draw(st.sampled_from(MOMENTS)) + timedelta(microseconds=draw(st.integers(-1, 1)))
        written = _quoted(_rfc3339(value, draw(st.sampled_from([0, -300, 60, 330]))), '"')
        return field, draw(st.sampled_from(ORDERED)), written, value
    name = draw(st.sampled_from(sorted(CHOICES)))
    written = draw(st.sampled_from([name, f'"{name}"']))
    return field, draw(st.sampled_from(["=", "!="])), written, CHOICES[name]


def trees(depth: int = 3) -> st.SearchStrategy[tuple]:
    leaf = comparisons().map(lambda c: ("CMP", c))
    if depth == 0:
        return leaf
    child = trees(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(["AND", "SEQ", "OR"]), st.lists(child, min_size=2, max_size=3)),
        st.tuples(st.sampled_from(["NOT", "-"]), child),
    )


# Which children need parentheses: OR binds tighter than the implicit AND, which binds
# tighter than AND; NOT and - apply to a single comparison or a parenthesized expression.
_BARE_CHILDREN = {
    "AND": {"CMP", "NOT", "-", "OR", "SEQ", "AND"},
    "SEQ": {"CMP", "NOT", "-", "OR", "SEQ"},
    "OR": {"CMP", "NOT", "-", "OR"},
    "NOT": {"CMP"},
    "-": {"CMP"},
}


def render(tree: tuple, parent: str = "AND") -> str:
    kind = tree[0]
    if kind == "CMP":
        field, op, written, _ = tree[1]
        text = f"{field} {op} {written}"
    elif kind in ("NOT", "-"):
        inner = render(tree[1], kind)
        text = f"NOT {inner}" if kind == "NOT" else f"-{inner}"
    else:
        glue = {"AND": " AND ", "SEQ": " ", "OR": " OR "}[kind]
        text = glue.join(render(child, kind) for child in tree[1])
    return text if kind in _BARE_CHILDREN[parent] else f"({text})"


def evaluate(tree: tuple, row: dict[str, Any]) -> bool | None:
    """SQL's three-valued logic: None is unknown."""
    kind = tree[0]
    if kind == "CMP":
        field, op, _, value = tree[1]
        actual = row[field]
        if value == "*":
            return actual is not None
        if value is None:
            return (actual is None) == (op == "=")
        if actual is None:
            return None
        if op == ":":
            return value.lower() in actual.lower()
        return {
            "=": actual == value,
            "!=": actual != value,
            "<": actual < value,
            "<=": actual <= value,
            ">": actual > value,
            ">=": actual >= value,
        }[op]
    if kind in ("NOT", "-"):
        inner = evaluate(tree[1], row)
        return None if inner is None else not inner
    results = [evaluate(child, row) for child in tree[1]]
    decisive = kind == "OR"  # True decides an OR, False an AND
    if decisive in results:
        return decisive
    return None if None in results else not decisive


@SETTINGS
@given(rows=st.lists(ROW, max_size=8), tree=trees())
def test_database_agrees_with_python(things: Any, rows: list[dict[str, Any]], tree: tuple):
    with things._meta.database.atomic():
        things.delete().execute()
        for i, row in enumerate(rows):
            things.create(tag=str(i), **row)
    text = render(tree)
    expected = {str(i) for i, row in enumerate(rows) if evaluate(tree, row) is True}
    assert matching(things, text) == expected, text
