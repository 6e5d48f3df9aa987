"""Users and their refresh tokens, in the records database.

    joist_users            id, email (unique, lowercase), password_hash, roles, disabled, times
    joist_refresh_tokens   id, family, user, secret_hash, expire_time, used, revoked

A refresh token is `<id>.<secret>`; only a SHA-256 of the secret is stored. Using one marks it
used and issues the next of its family; using a used one again (a stolen copy) revokes the whole
family. Passwords and hashes never leave this module's rows: `User` carries neither.

Methods are blocking (Peewee) and run on the service's DatabaseExecutor.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee

from services.common.config import AuthConfig
from services.common.database import bind, write_transaction
from services.common.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from services.common.ids import new_id
from services.common.timestamps import utc_now
from services.records.passwords import Passwords
from services.records.schema import FieldSpec, FieldType
from services.records.values import check_value

ADMIN, USER = "admin", "user"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_EMAIL = FieldSpec("email", FieldType.EMAIL, required=True)


class UserRow(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=36)
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.CharField(max_length=255)
    roles = peewee.CharField(max_length=255)
    disabled = peewee.BooleanField(default=False)
    create_time = peewee.DateTimeField()
    update_time = peewee.DateTimeField()

    class Meta:
        table_name = "joist_users"


class RefreshTokenRow(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=36)
    family = peewee.CharField(max_length=36, index=True)
    user = peewee.CharField(max_length=36, index=True)
    secret_hash = peewee.CharField(max_length=64)
    expire_time = peewee.DateTimeField()
    used = peewee.BooleanField(default=False)
    revoked = peewee.BooleanField(default=False)

    class Meta:
        table_name = "joist_refresh_tokens"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    roles: tuple[str, ...]
    disabled: bool
    create_time: datetime
    update_time: datetime


class Users:
    def __init__(self, db: peewee.Database, passwords: Passwords, refresh_ttl: timedelta) -> None:
        self._db = db
        self._passwords = passwords
        self._refresh_ttl = refresh_ttl
        self.rows = bind(UserRow, db)
        self._tokens = bind(RefreshTokenRow, db)

    @classmethod
    def from_config(cls, db: peewee.Database, settings: AuthConfig) -> Users:
        passwords = Passwords(
            settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
        )
        return cls(db, passwords, timedelta(seconds=settings.refresh_token_ttl))

    def tables(self) -> list[type[peewee.Model]]:
        return [self.rows, self._tokens]

    # -- users --------------------------------------------------------------------------------

    def create(self, email: str, password: str, roles: tuple[str, ...] = (USER,)) -> User:
        address = normalize_email(email)
        hashed = self._passwords.hash(check_password(password, "password"))
        with write_transaction(self._db):
            if self.rows.get_or_none(self.rows.email == address) is not None:
                raise AlreadyExists("a user with this email exists")
            return self._insert(address, hashed, roles)

    def make_admin(self, email: str, password: str) -> tuple[User, bool]:
        """Creates an admin, or makes an existing user admin with this password; True when
        created."""
        address = normalize_email(email)
        hashed = self._passwords.hash(check_password(password, "password"))
        with write_transaction(self._db):
            row = self.rows.get_or_none(self.rows.email == address)
            if row is None:
                return self._insert(address, hashed, (ADMIN, USER)), True
            roles = set(row.roles.split(",")) | {ADMIN, USER}
            row.roles, row.password_hash, row.disabled = ",".join(sorted(roles)), hashed, False
            row.update_time = utc_now()
            row.save()
            return _user(row), False

    def _insert(self, address: str, hashed: str, roles: tuple[str, ...]) -> User:
        now = utc_now()
        row = self.rows.create(
            id=new_id(),
            email=address,
            password_hash=hashed,
            roles=",".join(roles),
            create_time=now,
            update_time=now,
        )
        return _user(row)

    def authenticate(self, email: str, password: str) -> User:
        """The user with this email and password; the same Unauthenticated for an unknown
        email, a wrong password and a disabled user, after the same hashing work."""
        try:
            address = normalize_email(email)
        except InvalidArgument:
            address = ""
        row = self.rows.get_or_none(self.rows.email == address) if address else None
        good = self._passwords.verify(row.password_hash if row else None, password)
        if row is None or not good or row.disabled:
            raise Unauthenticated("wrong email or password")
        if self._passwords.needs_rehash(row.password_hash):
            self.rows.update(password_hash=self._passwords.hash(password)).where(
                self.rows.id == row.id
            ).execute()
        return _user(row)

    def get(self, user_id: str) -> User:
        row = self.rows.get_or_none(self.rows.id == user_id)
        if row is None:
            raise NotFound(f"user {user_id!r} not found")
        return _user(row)

    def is_active(self, user_id: str) -> bool:
        query = self.rows.select(self.rows.disabled).where(self.rows.id == user_id)
        disabled = query.scalar()
        return disabled is not None and not disabled

    def change_password(self, user_id: str, current: str, new: str) -> None:
        row = self.rows.get_or_none(self.rows.id == user_id)
        if row is None or not self._passwords.verify(row.password_hash, current):
            raise Unauthenticated("the current password is wrong")
        hashed = self._passwords.hash(check_password(new, "new_password"))
        with write_transaction(self._db):
            self.rows.update(password_hash=hashed, update_time=utc_now()).where(
                self.rows.id == user_id
            ).execute()
            self._tokens.update(revoked=True).where(self._tokens.user == user_id).execute()

    # -- refresh tokens -----------------------------------------------------------------------

    def new_refresh_token(self, user_id: str, family: str = "") -> str:
        token_id, secret = new_id(), secrets.token_urlsafe(32)
        self._tokens.create(
            id=token_id,
            family=family or token_id,
            user=user_id,
            secret_hash=_digest(secret),
            expire_time=utc_now() + self._refresh_ttl,
        )
        return f"{token_id}.{secret}"

    def rotate(self, token: str) -> tuple[User, str]:
        """The user of a valid refresh token and the next token of its family. A token used
        before revokes its family."""
        with write_transaction(self._db):
            row = self._token_row(token)
            if row.used:
                self._revoke_family(row.family)  # committed: the error is raised after
        if row.used:
            raise Unauthenticated("refresh token reused: its family is revoked")
        with write_transaction(self._db):
            row = self._token_row(token)
            if row.used:  # a concurrent rotation of the same token won
                raise Unauthenticated("refresh token is not valid")
            row.used = True
            row.save()
            user = self.rows.get_or_none(self.rows.id == row.user)
            if user is None or user.disabled:
                raise Unauthenticated("refresh token is not valid")
            return _user(user), self.new_refresh_token(user.id, row.family)

    def revoke(self, token: str) -> None:
        with write_transaction(self._db):
            self._revoke_family(self._token_row(token).family)

    def _token_row(self, token: str) -> RefreshTokenRow:
        token_id, _, secret = token.partition(".")
        row = self._tokens.get_or_none(self._tokens.id == token_id) if secret else None
        valid = row is not None and hmac.compare_digest(row.secret_hash, _digest(secret))
        if not valid or row.revoked or row.expire_time < utc_now():
            raise Unauthenticated("refresh token is not valid")
        return row

    def _revoke_family(self, family: str) -> None:
        self._tokens.update(revoked=True).where(self._tokens.family == family).execute()


def normalize_email(email: str) -> str:
    """The lowercase, normalized address; InvalidArgument naming `email` when it is not one."""
    try:
        return check_value(_EMAIL, email).lower()
    except ValueError as exc:
        raise InvalidArgument.field("email", str(exc)) from exc


def check_password(password: str, field: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument.field(field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        email=row.email,
        roles=tuple(r for r in row.roles.split(",") if r),
        disabled=row.disabled,
        create_time=row.create_time,
        update_time=row.update_time,
    )
