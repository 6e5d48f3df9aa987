"""The records repository on SQLite and on a throwaway PostgreSQL database: every field type,
create/get/list/update/delete/batch, idempotency, etags, filters, sorting and pagination, and
one outbox event per changed record."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.common.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from services.records import repository
from services.records.repository import NewRecord
from tests.records.conftest import Store

GOOD = {"name": "Ann", "email": "Ann@Example.COM", "message": "Hello"}

THINGS = [
    {"name": "title", "type": "TEXT", "required": True, "maxLength": 20},
    {"name": "count", "type": "INTEGER", "default": 0},
    {"name": "ratio", "type": "NUMBER"},
    {"name": "done", "type": "BOOL", "default": False},
    {"name": "due", "type": "DATETIME"},
    {"name": "contact", "type": "EMAIL"},
    {"name": "site", "type": "URL"},
    {"name": "size", "type": "SELECT", "options": ["s", "m", "l"]},
    {"name": "extra", "type": "JSON"},
    {"name": "parent", "type": "RELATION", "relation": "things"},
    {"name": "code", "type": "TEXT", "unique": True},
]
INDEXES = [{"fields": ["count"]}, {"fields": ["due"]}, {"fields": ["title", "count"]}]


@pytest.fixture
def things(store: Store) -> Store:
    store.define("things", THINGS, indexes=INDEXES)
    return store


def test_contact_message_is_stored_with_its_event(store: Store):
    record = store.repo.create("contact_messages", GOOD)
    assert record.data == {**GOOD, "email": "Ann@example.com"}
    assert store.repo.get("contact_messages", record.id) == record
    (event,) = store.events()
    assert event["type"] == "joist.records.contact_messages.created"
    assert event["subject"] == record.id
    assert event["data"]["data"]["message"] == "Hello"


def test_rejected_data_leaves_no_row_and_no_event(store: Store):
    with pytest.raises(InvalidArgument) as raised:
        store.repo.create("contact_messages", {"name": "", "email": "x", "spam": 1})
    assert {field for field, _ in raised.value.violations} == {"name", "email", "message", "spam"}
    assert store.repo.list("contact_messages", 0, "").records == []
    assert store.events() == []


def test_every_field_type_round_trips(things: Store):
    parent = things.repo.create("things", {"title": "parent"})
    data = {
        "title": "Hello",
        "count": 2**53,
        "ratio": 0.25,
        "done": True,
        "due": "2026-01-31T12:00:00+02:00",
        "contact": "Bob@Example.com",
        "site": "https://example.com/a?b=c",
        "size": "m",
        "extra": {"tags": ["a", 1, None], "nested": {"ok": True}},
        "parent": parent.id,
        "code": "X1",
    }
    record = things.repo.create("things", data)
    expected = {**data, "due": "2026-01-31T10:00:00.000000Z", "contact": "Bob@example.com"}
    assert record.data == expected
    assert things.repo.get("things", record.id).data == expected
    assert type(things.repo.get("things", record.id).data["count"]) is int
    assert things.events()[-1]["data"]["data"] == expected
    assert parent.data == {"title": "parent", "count": 0, "done": False}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 21),
        ("title", 5),
        ("title", "nul\x00byte"),
        ("count", 1.5),
        ("count", 2**53 + 2),
        ("count", "3"),
        ("count", True),
        ("ratio", "0.5"),
        ("done", "yes"),
        ("due", "yesterday"),
        ("due", "2026-01-31T12:00:00"),
        ("contact", "not-an-email"),
        ("site", "javascript:alert(1)"),
        ("site", "/relative"),
        ("size", "xl"),
        ("parent", "no-such-id"),
    ],
)
def test_bad_values_name_the_field(things: Store, field: str, value: object):
    with pytest.raises(InvalidArgument) as raised:
        things.repo.create("things", {"title": "ok", field: value})
    assert [name for name, _ in raised.value.violations] == [field]
    assert things.repo.list("things", 0, "").records == []


def test_unique_fields_refuse_a_second_value(things: Store):
    first = things.repo.create("things", {"title": "a", "code": "same"})
    with pytest.raises(AlreadyExists, match="code"):
        things.repo.create("things", {"title": "b", "code": "same"})
    other = things.repo.create("things", {"title": "c", "code": "other"})
    with pytest.raises(AlreadyExists):
        things.repo.update("things", other.id, {"code": "same"}, [], "")
    assert things.repo.update("things", first.id, {"code": "same"}, [], "").data["code"] == "same"


def test_request_id_makes_create_idempotent(store: Store):
    first = store.repo.create("contact_messages", GOOD, request_id="req-1")
    again = store.repo.create("contact_messages", GOOD, request_id="req-1")
    other = store.repo.create("contact_messages", GOOD, request_id="req-2")
    assert again == first and other.id != first.id
    assert len(store.events()) == 2


def test_concurrent_creates_with_one_request_id_store_one_record(store: Store):
    with ThreadPoolExecutor(8) as pool:
        records = list(
            pool.map(lambda _: store.repo.create("contact_messages", GOOD, "same"), range(16))
        )
    assert len({r.id for r in records}) == 1
    assert len(store.events()) == 1


def test_update_changes_masked_fields_and_checks_the_etag(things: Store):
    record = things.repo.create("things", {"title": "a", "count": 1, "ratio": 0.5})
    changed = things.repo.update("things", record.id, {"count": 2, "ratio": 9}, ["count"], "")
    assert changed.data == {"title": "a", "count": 2, "ratio": 0.5, "done": False}
    assert changed.update_time > record.update_time
    cleared = things.repo.update("things", record.id, {}, ["ratio"], "")
    assert "ratio" not in cleared.data
    with pytest.raises(Aborted):
        things.repo.update("things", record.id, {"count": 3}, [], record.etag)
    current = things.repo.get("things", record.id)
    assert (
        things.repo.update("things", record.id, {"count": 3}, [], current.etag).data["count"] == 3
    )
    assert [e["type"].rsplit(".", 1)[1] for e in things.events()] == ["created"] + ["updated"] * 3


def test_every_update_changes_the_etag_even_when_the_clock_stands_still(
    things: Store, monkeypatch: pytest.MonkeyPatch
):
    record = things.repo.create("things", {"title": "a"})
    monkeypatch.setattr(repository, "utc_now", lambda: record.update_time - timedelta(days=1))
    etags = [record.etag]
    for count in range(3):
        etags.append(things.repo.update("things", record.id, {"count": count}, [], "").etag)
    assert len(set(etags)) == 4
    with pytest.raises(Aborted):  # the first etag no longer matches
        things.repo.update("things", record.id, {"count": 9}, [], etags[0])


def test_bad_updates_change_nothing(things: Store):
    record = things.repo.create("things", {"title": "a"})
    cases = [
        ({"title": None}, ["title"], InvalidArgument),  # clearing a required field
        ({"nope": 1}, [], InvalidArgument),
        ({}, ["nope"], InvalidArgument),
        ({}, [], InvalidArgument),
        ({"count": "x"}, [], InvalidArgument),
    ]
    for data, mask, error in cases:
        with pytest.raises(error):
            things.repo.update("things", record.id, data, mask, "")
    with pytest.raises(NotFound):
        things.repo.update("things", "missing", {"count": 1}, [], "")
    assert things.repo.get("things", record.id) == record
    assert len(things.events()) == 1


def test_delete_removes_the_record_and_publishes_it(things: Store):
    record = things.repo.create("things", {"title": "a"})
    with pytest.raises(Aborted):
        things.repo.delete("things", record.id, "stale")
    things.repo.delete("things", record.id, record.etag)
    with pytest.raises(NotFound):
        things.repo.get("things", record.id)
    with pytest.raises(NotFound):
        things.repo.delete("things", record.id, "")
    deleted = things.events()[-1]
    assert deleted["type"] == "joist.records.things.deleted"
    assert deleted["data"]["data"]["title"] == "a"


def test_batch_create_is_all_or_nothing(things: Store):
    good = [NewRecord({"title": f"t{i}"}) for i in range(3)]
    with pytest.raises(InvalidArgument) as raised:
        things.repo.batch_create("things", [*good, NewRecord({"title": 7})])
    assert [name for name, _ in raised.value.violations] == ["requests[3].title"]
    with pytest.raises(AlreadyExists):
        things.repo.batch_create(
            "things",
            [NewRecord({"title": "a", "code": "c"}), NewRecord({"title": "b", "code": "c"})],
        )
    assert things.repo.list("things", 0, "").records == []
    assert things.events() == []
    records = things.repo.batch_create("things", good)
    assert [r.data["title"] for r in records] == ["t0", "t1", "t2"]
    assert len(things.events()) == 3
    with pytest.raises(InvalidArgument):
        things.repo.batch_create("things", [])


def test_filters_on_every_kind(things: Store):
    rows = [
        {
            "title": "apple pie",
            "count": 1,
            "ratio": 0.5,
            "done": True,
            "due": "2026-01-01T00:00:00Z",
        },
        {"title": "banana", "count": 5, "ratio": 1.5, "done": False, "size": "s"},
        {"title": "cherry 100%", "count": 10, "due": "2026-06-01T00:00:00Z", "size": "l"},
    ]
    for row in rows:
        things.repo.create("things", row)

    def titles(text: str) -> list[str]:
        return [r.data["title"] for r in things.repo.list("things", 0, "", text).records]

    assert titles("count >= 5") == ["banana", "cherry 100%"]
    assert titles("count > 1 AND count < 10") == ["banana"]
    assert titles("ratio <= 0.5 OR ratio > 1") == ["apple pie", "banana"]
    assert titles('title : "PIE"') == ["apple pie"]
    assert titles('title : "100%"') == ["cherry 100%"]
    assert titles("NOT done = true") == ["banana", "cherry 100%"]
    assert titles('due > "2026-03-01T00:00:00Z"') == ["cherry 100%"]
    assert titles("size = null") == ["apple pie"]
    assert titles("due:*") == ["apple pie", "cherry 100%"]
    assert titles('(size = "s" OR size = "l") AND -count = 5') == ["cherry 100%"]
    for bad in ["count = abc", "nope = 1", "extra = 1", "count >", "done > true", "x" * 10_000]:
        with pytest.raises(InvalidArgument):
            things.repo.list("things", 0, "", bad)


def test_order_by_and_pages_neither_skip_nor_repeat(things: Store):
    for i in range(25):
        things.repo.create("things", {"title": f"t{i:02}", "count": i % 4})
    seen: list[str] = []
    token = ""
    inserted = 0
    while True:
        page = things.repo.list("things", 7, token, "", "count desc, title")
        seen += [r.data["title"] for r in page.records]
        if not page.next_page_token:
            break
        token = page.next_page_token
        things.repo.create("things", {"title": f"new{inserted}", "count": -1})  # sorts last
        inserted += 1
    originals = [t for t in seen if t.startswith("t")]
    assert len(originals) == len(set(originals)) == 25
    expected = sorted((f"t{i:02}" for i in range(25)), key=lambda t: (-(int(t[1:]) % 4), t))
    assert originals == expected
    with pytest.raises(InvalidArgument):
        things.repo.list("things", 7, token, "", "title")  # a token of another query
    with pytest.raises(InvalidArgument):
        things.repo.list("things", 0, "", "", "ratio")  # not indexed
    with pytest.raises(InvalidArgument):
        things.repo.list("things", 0, "", "", "count sideways")


def test_a_repeated_list_sees_what_changed_in_between(things: Store):
    """The repository keeps the SQL of a list query, never its rows."""

    def titles() -> list[str]:
        return [r.data["title"] for r in things.repo.list("things", 2, "", "count > 0").records]

    things.repo.create("things", {"title": "a", "count": 1})
    assert titles() == ["a"]
    second = things.repo.create("things", {"title": "b", "count": 2})
    things.repo.create("things", {"title": "c", "count": 0})
    assert titles() == ["a", "b"]
    things.repo.delete("things", second.id, "")
    assert titles() == ["a"]
    for _ in range(2):  # a bad filter is refused every time, not only the first
        with pytest.raises(InvalidArgument, match="nope"):
            things.repo.list("things", 2, "", "nope > 0")


def test_unknown_collections_and_records(store: Store):
    with pytest.raises(NotFound):
        store.repo.create("nope", {})
    with pytest.raises(InvalidArgument):
        store.repo.get("", "x")
    with pytest.raises(NotFound):
        store.repo.get("contact_messages", "missing")
