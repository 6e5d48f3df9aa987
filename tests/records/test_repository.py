"""The records repository on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.common.database import open_database
from services.common.errors import InvalidArgument, NotFound
from services.common.outbox import outbox_model
from services.records.repository import RecordsRepository
from services.records.schema import BUILTIN_COLLECTIONS

GOOD = {"name": "Ann", "email": "Ann@Example.COM", "message": "Hello"}


@pytest.fixture
def repo(database_url: str) -> Iterator[RecordsRepository]:
    db = open_database(database_url, pool_size=16)
    repository = RecordsRepository(db, BUILTIN_COLLECTIONS, outbox_model(db))
    repository.create_tables()
    repository.outbox = outbox_model(db)
    yield repository
    if hasattr(db, "close_all"):
        db.close_all()
    else:
        db.close()


def _events(repo: RecordsRepository) -> list[dict]:
    return [json.loads(bytes(row.payload)) for row in repo.outbox.select().order_by(repo.outbox.id)]


def test_create_stores_the_record_and_its_event_together(repo: RecordsRepository):
    record = repo.create("contact_messages", GOOD)
    assert record.data == {**GOOD, "email": "Ann@example.com"}
    assert repo.get("contact_messages", record.id) == record
    (event,) = _events(repo)
    assert event["type"] == "joist.records.contact_messages.created"
    assert event["subject"] == record.id
    assert event["data"]["id"] == record.id
    assert event["data"]["data"]["message"] == "Hello"


def test_rejected_data_leaves_no_row_and_no_event(repo: RecordsRepository):
    with pytest.raises(InvalidArgument) as raised:
        repo.create("contact_messages", {"name": "", "email": "x", "spam": 1})
    assert {field for field, _ in raised.value.violations} == {"name", "email", "message", "spam"}
    assert repo.list("contact_messages", 0, "").records == []
    assert _events(repo) == []


def test_request_id_makes_create_idempotent(repo: RecordsRepository):
    first = repo.create("contact_messages", GOOD, request_id="req-1")
    again = repo.create("contact_messages", GOOD, request_id="req-1")
    other = repo.create("contact_messages", GOOD, request_id="req-2")
    assert again == first and other.id != first.id
    assert len(_events(repo)) == 2
    with pytest.raises(InvalidArgument, match="request_id"):
        repo.create("contact_messages", GOOD, request_id="x" * 65)


def test_pages_neither_skip_nor_repeat(repo: RecordsRepository):
    created = [repo.create("contact_messages", {**GOOD, "message": str(i)}).id for i in range(7)]
    seen, token = [], ""
    while True:
        page = repo.list("contact_messages", 3, token)
        seen += [r.id for r in page.records]
        if not page.next_page_token:
            break
        token = page.next_page_token
        created.append(repo.create("contact_messages", GOOD).id)  # inserted between pages
    assert seen == created
    with pytest.raises(InvalidArgument, match="page_token"):
        repo.list("contact_messages", 3, "bad token")


def test_unknown_collection_and_record(repo: RecordsRepository):
    with pytest.raises(NotFound, match="nope"):
        repo.create("nope", GOOD)
    with pytest.raises(NotFound):
        repo.get("contact_messages", "01900000-0000-7000-8000-000000000000")
    with pytest.raises(InvalidArgument, match="collection"):
        repo.get("", "x")


def test_concurrent_writers_lose_nothing(repo: RecordsRepository):
    def write(worker: int) -> list[str]:
        return [
            repo.create("contact_messages", {**GOOD, "message": f"{worker}-{i}"}).id
            for i in range(40)
        ]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(write, range(8)) for i in batch]
    assert len(set(ids)) == 320
    stored = repo.list("contact_messages", 1000, "").records
    assert {r.id for r in stored} == set(ids)
    assert sorted(e["subject"] for e in _events(repo)) == sorted(ids)
