"""Collection access rules on the repository: who may list, get, create, update and delete,
on SQLite and PostgreSQL. (The matrix over every route and RPC runs in tests/e2e.)"""

from __future__ import annotations

import pytest

from services.common.auth import ANONYMOUS, Caller
from services.common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from tests.records.conftest import ADMIN, Store

ANN = Caller("ann-id", frozenset({"user"}))
BOB = Caller("bob-id", frozenset({"user"}))
SERVICE = Caller("service:notifier", frozenset({"service"}))
GOOD = {"name": "Ann", "email": "ann@example.com", "message": "Hello"}
OWNED = {
    "list": "OWNER",
    "get": "OWNER",
    "create": "AUTHENTICATED",
    "update": "OWNER",
    "delete": "OWNER",
}


@pytest.fixture
def notes(store: Store) -> Store:
    store.define("notes", [{"name": "text", "type": "TEXT"}], rules=OWNED)
    return store


def test_owner_rules_keep_users_apart(notes: Store):
    records = notes.records
    mine = records.create("notes", {"text": "ann's"}, caller=ANN)
    assert mine.owner == "ann-id"
    theirs = records.create("notes", {"text": "bob's"}, caller=BOB)
    assert [r.id for r in records.list("notes", 0, "", caller=ANN).records] == [mine.id]
    assert [
        r.id for r in records.list("notes", 0, "", 'owner = "ann-id"', caller=BOB).records
    ] == []
    for attempt in (
        lambda: records.get("notes", mine.id, caller=BOB),
        lambda: records.update("notes", mine.id, {"text": "hacked"}, [], "", caller=BOB),
        lambda: records.delete("notes", mine.id, "", caller=BOB),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert records.get("notes", mine.id, caller=ANN).data == {"text": "ann's"}
    assert (
        records.update("notes", mine.id, {"text": "edited"}, [], "", caller=ANN).data["text"]
        == "edited"
    )
    assert len(records.list("notes", 0, "", caller=ADMIN).records) == 2
    assert len(records.list("notes", 0, "", caller=SERVICE).records) == 2
    records.delete("notes", theirs.id, "", caller=BOB)


def test_anonymous_callers_must_sign_in(notes: Store):
    with pytest.raises(Unauthenticated):
        notes.records.create("notes", {"text": "x"}, caller=ANONYMOUS)
    with pytest.raises(Unauthenticated):
        notes.records.list("notes", 0, "", caller=ANONYMOUS)


def test_contact_messages_are_public_to_create_and_admin_to_read(store: Store):
    records = store.records
    message = records.create("contact_messages", GOOD, caller=ANONYMOUS)
    assert message.owner == ""
    assert records.create("contact_messages", GOOD, caller=ANN).owner == "ann-id"
    with pytest.raises(Unauthenticated):
        records.list("contact_messages", 0, "", caller=ANONYMOUS)
    with pytest.raises(PermissionDenied):
        records.list("contact_messages", 0, "", caller=ANN)
    with pytest.raises(PermissionDenied):
        records.get("contact_messages", message.id, caller=ANN)
    with pytest.raises(PermissionDenied):
        records.delete("contact_messages", message.id, "", caller=ANN)
    assert len(records.list("contact_messages", 0, "", caller=ADMIN).records) == 2


@pytest.mark.parametrize("extra", ["owner", "id", "roles", "create_time", "collection", "etag"])
def test_mass_assignment_of_system_fields_is_refused(notes: Store, extra: str):
    with pytest.raises(InvalidArgument) as raised:
        notes.records.create("notes", {"text": "x", extra: "admin-id"}, caller=ANN)
    assert [name for name, _ in raised.value.violations] == [extra]
    mine = notes.records.create("notes", {"text": "x"}, caller=ANN)
    with pytest.raises(InvalidArgument):
        notes.records.update("notes", mine.id, {extra: "bob-id"}, [], "", caller=ANN)
    assert notes.records.get("notes", mine.id, caller=ANN).owner == "ann-id"


def test_relations_may_point_at_users(store: Store):
    user = store.users.create("ann@example.com", "a long password")
    store.define("posts", [{"name": "author", "type": "RELATION", "relation": "users"}])
    assert store.repo.create("posts", {"author": user.id}).data == {"author": user.id}
    with pytest.raises(InvalidArgument, match="author"):
        store.repo.create("posts", {"author": "nobody"})
