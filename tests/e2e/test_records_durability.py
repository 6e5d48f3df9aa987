"""Records' delivery guarantee through real processes (`joist serve records`, nats-server with
JetStream, SQLite and PostgreSQL): a write that commits produces its event exactly once, under
concurrent writers and across a `kill -9` of the records process in the middle of a load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from joist.v1 import records_pb2, records_pb2_grpc
from services.common.database import open_database
from services.common.outbox import outbox_model
from tests.support.jetstream import settled_messages
from tests.support.stack import Stack

COLLECTION = "contact_messages"
CREATED = f"joist.events.records.{COLLECTION}.created"


@pytest.fixture
def records(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    """NATS and the records service alone, on `database_url`."""
    stack = Stack(tmp_path, {"JOIST_RECORDS_DATABASE_URL": database_url})
    try:
        stack.create_admin()
        stack.nats.start()
        stack.start_service("records")
        stack.wait_serving("records", 30)
        yield stack
    finally:
        stack.stop()


def _request(marker: str) -> records_pb2.CreateRecordRequest:
    data = struct_pb2.Struct()
    data.update({"name": "Ann Lee", "email": "ann@example.com", "message": marker})
    return records_pb2.CreateRecordRequest(collection=COLLECTION, data=data)


async def _rows(stack: Stack) -> dict[str, str]:
    """Every row of the collection, paged through ListRecords as the admin: {id: marker}."""
    rows: dict[str, str] = {}
    listed = 0
    token = ""
    async with grpc.aio.insecure_channel(stack.grpc_target("records")) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)
        while True:
            page = await stub.ListRecords(
                records_pb2.ListRecordsRequest(
                    collection=COLLECTION, page_size=1000, page_token=token
                ),
                timeout=30,
                metadata=tuple(stack.bearer().items()),
            )
            for record in page.records:
                rows[record.id] = json_format.MessageToDict(record.data)["message"]
            listed += len(page.records)
            token = page.next_page_token
            if not token:
                break
    assert listed == len(rows), f"ListRecords returned {listed - len(rows)} ids twice"
    return rows


def _outbox_left(database_url: str) -> int:
    """How many events in the records database's outbox wait for the relay."""
    db = open_database(database_url)
    try:
        with db.connection_context():
            return outbox_model(db).select().count()
    finally:
        with contextlib.suppress(AttributeError):
            db.close_all()


def _wait_outbox_drained(database_url: str, timeout: float = 30) -> None:
    """Waits until the relay published and deleted every outbox row."""
    deadline = time.monotonic() + timeout
    while left := _outbox_left(database_url):
        assert time.monotonic() < deadline, f"{left} outbox rows still unpublished"
        time.sleep(0.2)


async def _assert_one_event_per_row(nats_url: str, row_ids: set[str]) -> None:
    """The stream holds exactly one `created` event per row and none for anything else."""
    messages = await settled_messages(nats_url, CREATED, expected=len(row_ids), wait=60)
    events = [json.loads(m.data) for m in messages]
    for message, event in zip(messages, events, strict=True):
        assert message.headers and message.headers.get("Nats-Msg-Id") == event["id"]
        assert event["type"] == f"joist.records.{COLLECTION}.created"
        assert event["data"]["id"] == event["subject"]
    by_id = Counter(e["id"] for e in events)
    by_subject = Counter(e["subject"] for e in events)
    assert [i for i, n in by_id.items() if n > 1] == [], "an event id is on the stream twice"
    assert [s for s, n in by_subject.items() if n > 1] == [], "a record has two events"
    subjects = set(by_subject)
    assert row_ids - subjects == set(), "committed rows without their event"
    assert subjects - row_ids == set(), "events for records that are not rows"
    assert len(events) == len(row_ids)


WRITERS = 8
CREATES_EACH = 500


async def test_concurrent_writers_lose_no_row_and_publish_each_event_once(
    records: Stack, database_url: str
):
    target = records.grpc_target("records")
    errors: list[str] = []

    async def writer(w: int) -> list[str]:
        ids = []
        async with grpc.aio.insecure_channel(target) as channel:
            stub = records_pb2_grpc.RecordsServiceStub(channel)
            for n in range(CREATES_EACH):
                try:
                    record = await stub.CreateRecord(_request(f"w{w}-{n}"), timeout=30)
                except grpc.aio.AioRpcError as exc:
                    errors.append(f"w{w}-{n}: {exc.code().name} {exc.details()}")
                else:
                    ids.append(record.id)
        return ids

    created = [i for ids in await asyncio.gather(*map(writer, range(WRITERS))) for i in ids]
    assert errors == []
    assert len(created) == len(set(created)) == WRITERS * CREATES_EACH

    rows = await _rows(records)
    assert set(rows) == set(created)
    assert sorted(rows.values()) == sorted(
        f"w{w}-{n}" for w in range(WRITERS) for n in range(CREATES_EACH)
    )
    await asyncio.to_thread(_wait_outbox_drained, database_url)
    await _assert_one_event_per_row(records.nats.url, set(rows))


CRASH_WRITERS = 6
KILL_AFTER_OKS = 300


async def test_kill_9_mid_load_keeps_exactly_one_event_per_committed_row(
    records: Stack, database_url: str
):
    target = records.grpc_target("records")
    answered: dict[str, str] = {}  # marker -> id, for the creates answered OK
    failed: dict[str, str] = {}  # marker -> error, for the creates that errored
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = records_pb2_grpc.RecordsServiceStub(channel)
            n = 0
            while not stop.is_set():
                marker = f"w{w}-{n}"
                n += 1
                try:
                    record = await stub.CreateRecord(_request(marker), timeout=10)
                except grpc.aio.AioRpcError as exc:
                    failed[marker] = f"{exc.code().name} {exc.details()}"
                    await asyncio.sleep(0.05)
                else:
                    answered[marker] = record.id

    writers = [asyncio.create_task(writer(w)) for w in range(CRASH_WRITERS)]
    try:
        deadline = time.monotonic() + 30
        while len(answered) < KILL_AFTER_OKS:
            assert time.monotonic() < deadline, f"only {len(answered)} creates in 30 s"
            assert not failed, f"creates failed before the kill: {failed}"
            await asyncio.sleep(0.01)
        before_kill = len(answered)
        process = records.processes.pop("records")
        os.kill(process.pid, signal.SIGKILL)
        assert await asyncio.to_thread(process.wait, 10) == -signal.SIGKILL
    finally:
        stop.set()
        await asyncio.gather(*writers)
    left_at_kill = await asyncio.to_thread(_outbox_left, database_url)

    records.start_service("records")
    await asyncio.to_thread(records.wait_serving, "records", 30)
    await asyncio.to_thread(_wait_outbox_drained, database_url)

    rows = await _rows(records)
    ids_by_marker = {marker: row_id for row_id, marker in rows.items()}
    assert len(ids_by_marker) == len(rows), "a create was stored twice"
    assert set(ids_by_marker) <= set(answered) | set(failed), "rows nobody created"
    for marker, record_id in answered.items():
        assert ids_by_marker.get(marker) == record_id, f"answered OK but no row: {marker}"
    await _assert_one_event_per_row(records.nats.url, set(rows))

    # What the kill did, for the record when this test is read with -s.
    committed_errors = set(failed) & set(ids_by_marker)
    print(
        f"\n{database_url.split(':')[0]}: {before_kill} OK before the kill, "
        f"{len(answered)} OK in all, {len(failed)} errored "
        f"({len(committed_errors)} of them committed), {len(rows)} rows, "
        f"{left_at_kill} events left in the outbox by the kill; "
        f"errors seen: {sorted(Counter(e.split()[0] for e in failed.values()).items())}"
    )
