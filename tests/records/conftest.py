"""A records store (catalog, repository, outbox) on SQLite and on a throwaway PostgreSQL
database, and a way to define collections the way the API does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import peewee
import pytest
from google.protobuf import json_format

from joist.v1 import collections_pb2
from services.common.auth import Caller
from services.common.database import open_database
from services.common.keys import stored_key
from services.common.outbox import OutboxRow, outbox_model
from services.common.pagination import PageTokens
from services.records.catalog import Catalog
from services.records.definitions import to_spec
from services.records.passwords import Passwords
from services.records.repository import RecordsRepository
from services.records.schema import CollectionSpec
from services.records.users import Users

# Argon2id at its lowest cost: these tests are about the logic, not the hashing.
FAST_PASSWORDS = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
ADMIN = Caller("admin-id", frozenset({"admin", "user"}))


class AsAdmin:
    """The repository called by an admin, unless a test passes another caller."""

    def __init__(self, repository: RecordsRepository) -> None:
        self._repository = repository

    def __getattr__(self, name: str) -> Any:
        return partial(getattr(self._repository, name), caller=ADMIN)


@dataclass
class Store:
    db: peewee.Database
    catalog: Catalog
    repo: AsAdmin
    outbox: type[OutboxRow]
    records: RecordsRepository  # called with a caller of the test's choosing
    users: Users

    def events(self) -> list[dict[str, Any]]:
        rows = self.outbox.select().order_by(self.outbox.id)
        return [json.loads(bytes(row.payload)) for row in rows]

    def define(self, name: str, fields: list[dict], **rest: Any) -> CollectionSpec:
        return self.catalog.create(spec(name, fields, **rest))

    def replica(self) -> Store:
        """A second records replica on the same database."""
        return open_store(self.db)


def spec(name: str, fields: list[dict], **rest: Any) -> CollectionSpec:
    """A spec through the same checks as CreateCollection (JSON as the API takes it)."""
    message = json_format.ParseDict(
        {"name": name, "fields": fields, **rest}, collections_pb2.Collection()
    )
    return to_spec(message)


def open_store(db: peewee.Database) -> Store:
    outbox = outbox_model(db)
    users = Users(db, FAST_PASSWORDS, timedelta(days=1))
    catalog = Catalog(db, {"users": users.rows})
    catalog.bootstrap(outbox, users.tables())
    tokens = PageTokens(stored_key(db, "page_tokens"))
    repository = RecordsRepository(db, catalog, outbox, tokens)
    return Store(db, catalog, AsAdmin(repository), outbox, repository, users)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    db = open_database(database_url, pool_size=16)
    yield open_store(db)
    if hasattr(db, "close_all"):
        db.close_all()
    else:
        db.close()
