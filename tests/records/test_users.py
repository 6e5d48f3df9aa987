"""Users, passwords and refresh tokens on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from services.common.errors import AlreadyExists, InvalidArgument, Unauthenticated
from tests.records.conftest import Store

PASSWORD = "correct horse battery"


def test_sign_up_and_log_in(store: Store):
    user = store.users.create("Ann@Example.COM", PASSWORD)
    assert user.email == "ann@example.com" and user.roles == ("user",)
    assert "hash" not in repr(user) and PASSWORD not in repr(user)
    assert store.users.authenticate("ANN@example.com", PASSWORD) == user
    with pytest.raises(AlreadyExists):
        store.users.create("ann@EXAMPLE.com", PASSWORD)
    stored = store.users.rows.get(store.users.rows.id == user.id)
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("nope", PASSWORD, "email"),
        ("a@example.com", "short", "password"),
        ("a@example.com", "x" * 2000, "password"),
    ],
)
def test_bad_sign_ups_name_the_field(store: Store, email: str, password: str, field: str):
    with pytest.raises(InvalidArgument) as raised:
        store.users.create(email, password)
    assert [name for name, _ in raised.value.violations] == [field]


def test_wrong_password_unknown_user_and_disabled_user_look_the_same(store: Store):
    user = store.users.create("ann@example.com", PASSWORD)
    store.users.create("bob@example.com", PASSWORD)
    store.users.rows.update(disabled=True).where(
        store.users.rows.email == "bob@example.com"
    ).execute()
    messages = set()
    for email, password in [
        ("ann@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("bob@example.com", PASSWORD),
        ("not an email", PASSWORD),
    ]:
        with pytest.raises(Unauthenticated) as raised:
            store.users.authenticate(email, password)
        messages.add(raised.value.message)
    assert messages == {"wrong email or password"}
    assert store.users.is_active(user.id) and not store.users.is_active("missing")


def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(store: Store):
    user = store.users.create("ann@example.com", PASSWORD)
    first = store.users.new_refresh_token(user.id)
    who, second = store.users.rotate(first)
    assert who == user and second != first
    _, third = store.users.rotate(second)
    with pytest.raises(Unauthenticated, match="reused"):
        store.users.rotate(first)  # a stolen copy of an old token
    with pytest.raises(Unauthenticated):
        store.users.rotate(third)  # the family is revoked
    other = store.users.new_refresh_token(user.id)  # another login's family is not
    assert store.users.rotate(other)[0] == user
    for bad in ["", "garbage", f"{third.split('.')[0]}.wrongsecret", "x.y.z"]:
        with pytest.raises(Unauthenticated):
            store.users.rotate(bad)


def test_logout_and_password_change_revoke_refresh_tokens(store: Store):
    user = store.users.create("ann@example.com", PASSWORD)
    token = store.users.new_refresh_token(user.id)
    store.users.revoke(token)
    with pytest.raises(Unauthenticated):
        store.users.rotate(token)
    token = store.users.new_refresh_token(user.id)
    with pytest.raises(Unauthenticated):
        store.users.change_password(user.id, "wrong one", "new password!")
    store.users.change_password(user.id, PASSWORD, "new password!")
    with pytest.raises(Unauthenticated):
        store.users.rotate(token)
    with pytest.raises(Unauthenticated):
        store.users.authenticate("ann@example.com", PASSWORD)
    assert store.users.authenticate("ann@example.com", "new password!").id == user.id


def test_make_admin_creates_or_promotes(store: Store):
    admin, created = store.users.make_admin("root@example.com", PASSWORD)
    assert created and set(admin.roles) == {"admin", "user"}
    store.users.create("ann@example.com", PASSWORD)
    promoted, created = store.users.make_admin("ANN@example.com", "another password")
    assert not created and "admin" in promoted.roles
    assert store.users.authenticate("ann@example.com", "another password").id == promoted.id
