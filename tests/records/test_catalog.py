"""Collections and their migrations, with data in place, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from google.protobuf import json_format

from services.common.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.records.render import collection_to_proto
from services.records.schema import Access
from tests.records.conftest import Store, spec

POSTS = [
    {"name": "title", "type": "TEXT", "required": True, "maxLength": 100},
    {"name": "views", "type": "INTEGER"},
    {"name": "kind", "type": "SELECT", "options": ["news", "blog"]},
    {"name": "contact", "type": "EMAIL"},
]


@pytest.fixture
def posts(store: Store) -> Store:
    store.define("posts", POSTS)
    for i in range(3):
        store.repo.create("posts", {"title": f"p{i}", "views": i, "kind": "news"})
    return store


def _fields(store: Store, name: str = "posts") -> list[dict]:
    """The collection's fields as the API returns them (with their ids)."""
    return json_format.MessageToDict(collection_to_proto(store.catalog.get(name)))["fields"]


def _update(store: Store, fields: list[dict], parts: set[str] | None = None, **rest) -> object:
    return store.catalog.update(spec("posts", fields, **rest), parts or {"fields"}, "")


def test_a_new_collection_is_closed_and_gets_field_ids(store: Store):
    created = store.define("posts", POSTS)
    assert created.rules.list is Access.ADMIN and created.rules.create is Access.ADMIN
    assert all(f.id for f in created.fields)
    assert store.catalog.get("posts") == created
    assert [s.name for s in store.catalog.all()] == ["contact_messages", "posts"]
    assert store.catalog.get("contact_messages").rules.create is Access.PUBLIC
    with pytest.raises(AlreadyExists):
        store.define("posts", POSTS)


@pytest.mark.parametrize(
    ("name", "fields", "rest", "path"),
    [
        ("Bad-Name", POSTS, {}, "collection.name"),
        ("posts", [{"name": "id", "type": "TEXT"}], {}, "collection.fields[0].name"),
        ("posts", [{"name": "x"}], {}, "collection.fields[0].type"),
        ("posts", [{"name": "x", "type": "SELECT"}], {}, "collection.fields[0].options"),
        (
            "posts",
            [{"name": "x", "type": "INTEGER", "maxLength": 3}],
            {},
            "collection.fields[0].max_length",
        ),
        (
            "posts",
            [{"name": "x", "type": "INTEGER", "default": 1.5}],
            {},
            "collection.fields[0].default",
        ),
        ("posts", [{"name": "x", "type": "RELATION"}], {}, "collection.fields[0].relation"),
        (
            "posts",
            [{"name": "x", "type": "JSON", "unique": True}],
            {},
            "collection.fields[0].unique",
        ),
        ("posts", [{"name": "x", "type": "TEXT"}] * 2, {}, "collection.fields"),
        ("posts", POSTS, {"indexes": [{"fields": ["nope"]}]}, "collection.indexes[0].fields"),
    ],
)
def test_bad_definitions_name_the_field(store: Store, name, fields, rest, path):
    with pytest.raises(InvalidArgument) as raised:
        store.define(name, fields, **rest)
    assert path in [p for p, _ in raised.value.violations]


def test_a_relation_must_point_at_a_collection(store: Store):
    with pytest.raises(InvalidArgument, match="relation"):
        store.define("posts", [{"name": "author", "type": "RELATION", "relation": "people"}])


def test_add_a_field_with_a_default_fills_existing_records(posts: Store):
    assert all("score" not in r.data for r in posts.repo.list("posts", 0, "").records)
    fields = [
        *_fields(posts),
        {"name": "score", "type": "NUMBER", "default": 1.5, "required": True},
    ]
    _update(posts, fields)
    records = posts.repo.list("posts", 0, "").records  # the same query: its SQL built anew
    assert [r.data["score"] for r in records] == [1.5, 1.5, 1.5]
    assert posts.events()[-1]["type"].endswith("posts.created")  # migrations emit no record event


def test_a_required_field_without_default_is_refused_while_records_exist(posts: Store):
    with pytest.raises(FailedPrecondition, match="required"):
        _update(posts, [*_fields(posts), {"name": "slug", "type": "TEXT", "required": True}])
    assert [f["name"] for f in _fields(posts)] == ["title", "views", "kind", "contact"]


def test_rename_keeps_the_data(posts: Store):
    fields = _fields(posts)
    fields[1]["name"] = "hits"
    renamed = _update(posts, fields)
    assert [f.name for f in renamed.fields] == ["title", "hits", "kind", "contact"]
    values = [r.data.get("hits") for r in posts.repo.list("posts", 0, "", "hits >= 1").records]
    assert values == [1, 2]


def test_remove_a_field_drops_its_column(posts: Store):
    fields = [f for f in _fields(posts) if f["name"] != "views"]
    _update(posts, fields)
    assert all("views" not in r.data for r in posts.repo.list("posts", 0, "").records)
    with pytest.raises(InvalidArgument):
        posts.repo.create("posts", {"title": "x", "views": 1})
    _update(posts, [*fields, {"name": "views", "type": "TEXT"}])  # the name is free again
    assert all("views" not in r.data for r in posts.repo.list("posts", 0, "").records)


def test_add_and_drop_an_index_makes_a_field_sortable(posts: Store):
    with pytest.raises(InvalidArgument):
        posts.repo.list("posts", 0, "", "", "views desc")
    posts.catalog.update(spec("posts", POSTS, indexes=[{"fields": ["views"]}]), {"indexes"}, "")
    page = posts.repo.list("posts", 0, "", "", "views desc")
    assert [r.data["views"] for r in page.records] == [2, 1, 0]
    posts.catalog.update(spec("posts", POSTS), {"indexes"}, "")
    with pytest.raises(InvalidArgument):
        posts.repo.list("posts", 0, "", "", "views desc")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "views", "type": "TEXT"}, "cannot change"),
        ({"name": "title", "type": "INTEGER"}, "cannot change"),
        ({"name": "title", "type": "TEXT", "maxLength": 1}, "longer than"),
        ({"name": "kind", "type": "SELECT", "options": ["blog"]}, "in use"),
        ({"name": "views", "type": "INTEGER", "required": True}, None),  # allowed: all set
        ({"name": "contact", "type": "EMAIL", "required": True}, "required"),
        ({"name": "kind", "type": "SELECT", "options": ["news"], "unique": True}, "unique"),
    ],
)
def test_changes_that_would_lose_data_are_refused(posts: Store, change: dict, message: str | None):
    fields = [change if f["name"] == change["name"] else f for f in _fields(posts)]
    before = [r.data for r in posts.repo.list("posts", 0, "").records]
    if message is None:
        _update(posts, fields)
        return
    with pytest.raises(FailedPrecondition, match=message):
        _update(posts, fields)
    assert [r.data for r in posts.repo.list("posts", 0, "").records] == before
    assert posts.catalog.get("posts").version == 1


def test_email_may_become_text(posts: Store):
    fields = [{**f, "type": "TEXT"} if f["name"] == "contact" else f for f in _fields(posts)]
    updated = _update(posts, fields)
    assert updated.field("contact").type.value == "TEXT"
    assert posts.repo.create("posts", {"title": "x", "contact": "not an email"}).data["contact"]


def test_etags_guard_collection_changes(posts: Store):
    current = posts.catalog.get("posts")
    with pytest.raises(Aborted):
        posts.catalog.update(spec("posts", POSTS), {"rules"}, "stale")
    updated = posts.catalog.update(
        spec("posts", POSTS, rules={"list": "PUBLIC"}), {"rules"}, current.etag
    )
    assert updated.rules.list is Access.PUBLIC and updated.etag != current.etag
    with pytest.raises(InvalidArgument):
        posts.catalog.update(spec("posts", [{**_fields(posts)[0], "id": "bogus"}]), {"fields"}, "")
    with pytest.raises(NotFound):
        posts.catalog.update(spec("nope", POSTS), {"fields"}, "")


def test_delete_needs_force_while_records_exist(posts: Store):
    with pytest.raises(FailedPrecondition, match="force"):
        posts.catalog.delete("posts", "", force=False)
    posts.catalog.delete("posts", "", force=True)
    with pytest.raises(NotFound):
        posts.catalog.get("posts")
    posts.define("posts", POSTS)  # the name and table are free again
    assert posts.repo.list("posts", 0, "").records == []


def test_a_collection_others_point_into_cannot_be_deleted(posts: Store):
    posts.define("comments", [{"name": "post", "type": "RELATION", "relation": "posts"}])
    with pytest.raises(FailedPrecondition, match=r"comments\.post"):
        posts.catalog.delete("posts", "", force=True)


def test_other_replicas_see_schema_changes_without_restart(posts: Store):
    other = posts.replica()
    assert other.repo.list("posts", 0, "").records
    _update(posts, [*_fields(posts), {"name": "score", "type": "INTEGER", "default": 7}])
    created = other.repo.create("posts", {"title": "x", "score": 3})
    assert created.data["score"] == 3
    posts.catalog.delete("posts", "", force=True)
    with pytest.raises(NotFound):
        other.repo.get("posts", created.id)


def test_spec_versions_move_on(posts: Store):
    first = posts.catalog.get("posts")
    second = _update(posts, _fields(posts))
    assert second.version == first.version + 1
    assert replace(second, version=first.version, update_time=first.update_time) == first
