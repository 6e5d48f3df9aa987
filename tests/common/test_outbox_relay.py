"""The outbox relay against a real nats-server: order, Msg-Id dedup, and catching up after NATS
was down."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import nats
import pytest

from services.cli.processes import NatsServer, free_port
from services.common import outbox as outbox_module
from services.common.broker import STREAM, Broker, ensure_stream
from services.common.config import NatsConfig
from services.common.database import DatabaseExecutor, open_database, write_transaction
from services.common.events import make_event
from services.common.outbox import OutboxRelay, create_outbox, enqueue, outbox_model
from services.common.timestamps import utc_now
from tests.support.jetstream import stream_messages


def _relay(tmp_path: Path, url: str, poll_interval: float = 0.2):
    db = open_database(f"sqlite:///{tmp_path}/outbox.db")
    outbox = outbox_model(db)
    db.create_tables([outbox])
    executor = DatabaseExecutor(db, 2)
    broker = Broker(NatsConfig(url=url, connect_timeout=0.5, request_timeout=2), name="test")
    relay = OutboxRelay(executor, outbox, broker, publish_timeout=2, poll_interval=poll_interval)
    return db, outbox, broker, relay


def _write(db, outbox, events) -> None:
    with write_transaction(db):
        enqueue(outbox, events)


async def test_publishes_in_order_with_msg_id_and_empties_the_outbox(tmp_path, nats_server):
    db, outbox, broker, relay = _relay(tmp_path, nats_server.url)
    events = [make_event("records.posts.created", "test", {"n": i}) for i in range(5)]
    _write(db, outbox, events)
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    try:
        await asyncio.wait_for(broker.jetstream(), 10)
        messages = await stream_messages(nats_server.url, "joist.events.>", 5)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [e.id for e in events]
        assert [m.data for m in messages] == [e.payload for e in events]
        for _ in range(50):
            if outbox.select().count() == 0:
                break
            await asyncio.sleep(0.05)
        assert outbox.select().count() == 0
        # A crash between publish and delete re-publishes: JetStream drops the copy.
        _write(db, outbox, events[:2])
        await asyncio.sleep(0.5)
        assert len(await stream_messages(nats_server.url, "joist.events.>", 5)) == 5
    finally:
        for task in tasks:
            task.cancel()
        await broker.close()


async def test_writes_wait_while_nats_is_down_then_go_out_once(tmp_path):
    port = free_port()
    db, outbox, broker, relay = _relay(tmp_path, f"nats://127.0.0.1:{port}")
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    server = NatsServer(tmp_path / "nats", port=port)
    try:
        events = [make_event("records.posts.created", "test", {"n": i}) for i in range(3)]
        _write(db, outbox, events)
        await asyncio.sleep(1.0)
        assert outbox.select().count() == 3
        await asyncio.to_thread(server.start)
        await asyncio.wait_for(broker.jetstream(), 15)
        messages = await stream_messages(server.url, "joist.events.>", 3, wait=15)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [e.id for e in events]
    finally:
        for task in tasks:
            task.cancel()
        await broker.close()
        server.stop()


async def test_stream_setup_is_idempotent(nats_server):
    client = await nats.connect(nats_server.url)
    try:
        config = NatsConfig(url=nats_server.url)
        js = client.jetstream()
        await asyncio.gather(ensure_stream(js, config), ensure_stream(js, config))
        await ensure_stream(js, config)
        info = await js.stream_info(STREAM)
        assert info.config.subjects == ["joist.events.>"]
        assert info.config.duplicate_window == 120
    finally:
        await client.close()


async def test_commits_are_published_at_once_and_rollbacks_never(tmp_path, nats_server):
    db, outbox, broker, relay = _relay(tmp_path, nats_server.url, poll_interval=60)
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    try:
        await asyncio.wait_for(broker.jetstream(), 10)
        await asyncio.sleep(0.2)  # the first sweep found the outbox empty
        rolled_back = make_event("records.posts.created", "test", {"n": "never"})
        with pytest.raises(RuntimeError), write_transaction(db):
            enqueue(outbox, [rolled_back])
            raise RuntimeError("the write fails after the event was enqueued")
        committed = make_event("records.posts.created", "test", {"n": 1})
        await asyncio.to_thread(_write, db, outbox, [committed])  # as a DB worker thread does
        messages = await stream_messages(nats_server.url, "joist.events.>", 1, wait=2)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [committed.id]
        for _ in range(40):
            if outbox.select().count() == 0:
                break
            await asyncio.sleep(0.05)
        assert outbox.select().count() == 0  # deleted without waiting for the 60 s sweep
    finally:
        for task in tasks:
            task.cancel()
        await broker.close()


async def _empty(outbox, seconds: float = 2.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if outbox.select().count() == 0:
            return True
        await asyncio.sleep(0.05)
    return outbox.select().count() == 0


async def test_rows_published_close_together_are_deleted_together(tmp_path, nats_server):
    db, outbox, broker, relay = _relay(tmp_path, nats_server.url, poll_interval=60)
    deletes: list[list[str]] = []
    delete = relay._delete

    def counted(ids: list[str]) -> None:
        deletes.append(list(ids))
        delete(ids)

    relay._delete = counted  # type: ignore[method-assign]
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    try:
        await asyncio.wait_for(broker.jetstream(), 10)
        await asyncio.sleep(0.2)  # the first sweep found the outbox empty
        events = [make_event("records.posts.created", "test", {"n": i}) for i in range(10)]
        for event in events:  # ten commits, each handed to the relay on its own
            await asyncio.to_thread(_write, db, outbox, [event])
        messages = await stream_messages(nats_server.url, "joist.events.>", 10, wait=5)
        assert [m.headers["Nats-Msg-Id"] for m in messages] == [e.id for e in events]
        assert await _empty(outbox)
        assert sorted(id_ for ids in deletes for id_ in ids) == sorted(e.id for e in events)
        assert len(deletes) < len(events)
    finally:
        for task in tasks:
            task.cancel()
        await broker.close()


async def test_a_relay_stopping_deletes_what_it_published(tmp_path, nats_server, monkeypatch):
    monkeypatch.setattr(outbox_module, "DELETE_EVERY", 60.0)  # only the stop deletes it
    db, outbox, broker, relay = _relay(tmp_path, nats_server.url, poll_interval=60)
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    try:
        await asyncio.wait_for(broker.jetstream(), 10)
        await asyncio.sleep(0.2)
        event = make_event("records.posts.created", "test", {"n": 1})
        await asyncio.to_thread(_write, db, outbox, [event])
        await stream_messages(nats_server.url, "joist.events.>", 1, wait=2)
        await asyncio.sleep(0.2)
        assert outbox.select().count() == 1  # published, its delete waiting
    finally:
        tasks[1].cancel()
        await asyncio.gather(tasks[1], return_exceptions=True)
        tasks[0].cancel()
        await broker.close()
    assert outbox.select().count() == 0


def test_replicas_claim_disjoint_rows_and_take_over_expired_leases(database_url: str):
    """Two relays on one outbox (two replicas) never claim the same row; a third takes rows
    over only once their lease ran out."""
    db = open_database(database_url, pool_size=8)
    unclaimed = outbox_model(db)
    create_outbox(unclaimed)
    _write(
        db, unclaimed, [make_event("records.posts.created", "test", {"n": i}) for i in range(100)]
    )
    broker = Broker(NatsConfig(url="nats://127.0.0.1:1"), name="unused")
    executor = DatabaseExecutor(db, 4)

    def replica(owner: str) -> OutboxRelay:
        return OutboxRelay(executor, outbox_model(db), broker, 1, batch_size=60, owner=owner)

    a, b = replica("a"), replica("b")
    with ThreadPoolExecutor(2) as pool:
        first = list(pool.map(lambda relay: {r.id for r in executor._call(relay._claim)}, [a, b]))
    assert not first[0] & first[1]
    assert len(first[0] | first[1]) == 100
    late = replica("c")
    assert executor._call(late._claim) == []
    mine = executor._call(a._claim)  # a sweep takes its own leased rows again
    assert {r.id for r in mine} == first[0]
    unclaimed.update(claimed_until=utc_now() - timedelta(seconds=1)).execute()
    assert len(executor._call(late._claim)) == 60
    executor.close()
