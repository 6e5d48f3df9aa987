"""The transactional outbox: events are written in the same transaction as the data they
describe, and a relay publishes them to JetStream after the commit.

    Outbox = outbox_model(db)                      # the `joist_outbox` table of this database
    relay = OutboxRelay(executor, Outbox, broker, ...)
    with write_transaction(db):
        ...write rows...
        enqueue(Outbox, [make_event(...)])          # commits or rolls back with the rows

Right after the commit, `enqueue` hands the events to the relay of this process, which
publishes them at once, without reading them back; a sweep every `poll_interval` publishes
whatever else waits (rows of a failed publish, of another replica, of a crash), oldest first,
and the hand-off is used only while that backlog is empty, so that a record's events never
overtake each other. Each event goes out with `Nats-Msg-Id` = event id and its row is deleted
after JetStream's ack: the rows published within `DELETE_EVERY` seconds (at most `batch_size`)
together, in one transaction that need not wait for the disk, and before any sweep. A crash
between publish and delete re-publishes the same ids, which JetStream drops inside its
duplicate window; consumers dedupe by event id beyond it. While NATS is down, rows wait and
the relay retries with capped backoff.

Several replicas share one outbox without publishing each other's rows twice: a row is
claimed for a lease (`claimed_by`, `claimed_until`) — at insert by the relay of the process
that will hand it off, and by a sweep with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL
(SQLite's single writer serializes sweeps). A sweep takes rows whose lease expired or is its
own, so the rows of a replica that died are published by another once their lease runs out
(or at once by the same replica restarted: the owner is host name and listen address).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

import nats.errors
import peewee
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from services.common.broker import Broker
from services.common.database import (
    DatabaseExecutor,
    after_commit,
    bind,
    insert_row,
    write_transaction,
)
from services.common.errors import Unavailable
from services.common.events import Event
from services.common.ids import new_id
from services.common.timestamps import utc_now

log = logging.getLogger(__name__)


class OutboxRow(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=36)
    subject = peewee.CharField(max_length=255)
    payload = peewee.BlobField()
    create_time = peewee.DateTimeField(default=utc_now)
    claimed_by = peewee.CharField(max_length=255, null=True)
    claimed_until = peewee.DateTimeField(null=True, index=True)

    class Meta:
        table_name = "joist_outbox"


def outbox_model(db: peewee.Database) -> type[OutboxRow]:
    """The outbox table bound to `db` (each service owns its own)."""
    return bind(OutboxRow, db)


def create_outbox(model: type[OutboxRow]) -> None:
    """Creates the outbox table, or adds the claim columns to one made before they existed."""
    db = model._meta.database
    model.create_table(safe=True)
    present = {c.name for c in db.get_columns(model._meta.table_name)}
    migrator = (
        SqliteMigrator(db) if isinstance(db, peewee.SqliteDatabase) else PostgresqlMigrator(db)
    )
    for name in ("claimed_by", "claimed_until"):
        if name not in present:
            migrator.add_column(model._meta.table_name, name, model._meta.fields[name]).run()


def enqueue(model: type[OutboxRow], events: Iterable[Event]) -> None:
    """Adds events to the outbox; call it inside the write_transaction that writes their data."""
    batch = list(events)
    if not batch:
        return
    relay = _RELAYS.get(model)
    claim = relay.lease() if relay is not None else {}
    now = utc_now()
    rows = [
        {"id": e.id, "subject": e.subject, "payload": e.payload, "create_time": now, **claim}
        for e in batch
    ]
    if len(rows) == 1:  # most writes: one event, its statement built once
        insert_row(model, rows[0])
    else:
        model.insert_many(rows).execute()
    if relay is not None:
        after_commit(partial(relay.committed, batch))


DELETE_EVERY = 0.05  # seconds a published row may wait to be deleted with the next ones


class OutboxRelay:
    """Publishes outbox rows to JetStream: events handed over at commit at once, the rest by a
    sweep every `poll_interval`."""

    def __init__(
        self,
        executor: DatabaseExecutor,
        model: type[OutboxRow],
        broker: Broker,
        publish_timeout: float,
        poll_interval: float = 1.0,
        batch_size: int = 256,
        owner: str = "",
    ) -> None:
        self._executor = executor
        self._model = model
        self._broker = broker
        self._publish_timeout = publish_timeout
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._fresh: list[Event] = []
        self._published: list[str] = []  # ids of rows JetStream acknowledged, to delete
        self._delete_at = 0.0  # when they are deleted at the latest (loop time)
        self._backlog = True  # until a sweep finds the outbox drained
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner = owner or new_id()
        self._lease = timedelta(seconds=max(30.0, 3 * publish_timeout))
        _RELAYS[model] = self

    def lease(self) -> dict[str, Any]:
        """The claim columns of a row this relay takes on now."""
        return {"claimed_by": self._owner, "claimed_until": utc_now() + self._lease}

    def committed(self, events: list[Event]) -> None:
        """Takes events just committed (called from the committing thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._take, events)

    def _take(self, events: list[Event]) -> None:
        self._fresh.extend(events)
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        js = await self._broker.jetstream()
        backoff = 0.1
        next_sweep = 0.0
        try:
            while True:
                self._wake.clear()
                fresh, self._fresh = self._fresh, []
                try:
                    if fresh and not self._backlog:
                        await self._publish(js, fresh)
                    if self._backlog or self._loop.time() >= next_sweep:
                        await self._delete_published()  # or the sweep would take them again
                        self._backlog = await self._sweep(js)
                        next_sweep = self._loop.time() + self._poll_interval
                    if self._published and (
                        self._loop.time() >= self._delete_at
                        or len(self._published) >= self._batch_size
                    ):
                        await self._delete_published()
                except (TimeoutError, nats.errors.Error, Unavailable) as exc:
                    self._backlog = True
                    log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.1
                if self._backlog:
                    continue
                wake_at = min(next_sweep, self._delete_at) if self._published else next_sweep
                with contextlib.suppress(TimeoutError):
                    timeout = max(wake_at - self._loop.time(), 0.0)
                    await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.CancelledError:
            # stopping: rows left behind would only be published again at the next start
            with contextlib.suppress(Exception):
                await self._delete_published()
            raise

    async def _sweep(self, js: nats.js.JetStreamContext) -> bool:
        """Publishes the oldest waiting rows; True while more wait."""
        rows = await self._executor.run(self._claim)
        await self._publish(js, rows)
        return len(rows) == self._batch_size

    async def _publish(self, js: nats.js.JetStreamContext, items: list[Any]) -> None:
        """Publishes events or rows (both have id, subject, payload) and marks the rows of
        those JetStream acknowledged for deletion."""
        if not items:
            return
        results = await asyncio.gather(
            *(
                js.publish(
                    item.subject,
                    bytes(item.payload),
                    timeout=self._publish_timeout,
                    headers={"Nats-Msg-Id": item.id},
                )
                for item in items
            ),
            return_exceptions=True,
        )
        failed_at = next(
            (i for i, result in enumerate(results) if isinstance(result, BaseException)),
            len(items),
        )
        # Delete only the published prefix: later rows go again, in order, and JetStream
        # drops the copies that did get through.
        if failed_at:
            if not self._published:
                self._delete_at = self._loop.time() + DELETE_EVERY  # type: ignore[union-attr]
            self._published.extend(item.id for item in items[:failed_at])
        if failed_at < len(items):
            raise results[failed_at]

    async def _delete_published(self) -> None:
        """Deletes the rows published so far, in one transaction."""
        if self._published:
            await self._executor.run(self._delete, self._published)
            self._published = []

    def _claim(self) -> list[OutboxRow]:
        """Claims the oldest rows that no live replica holds (its own included)."""
        m = self._model
        db = m._meta.database
        now = utc_now()
        free = m.claimed_until.is_null() | (m.claimed_until < now) | (m.claimed_by == self._owner)
        if not m.select().where(free).exists():  # spare the write lock when nothing waits
            return []
        with write_transaction(db, durable=False):  # a lost claim only lapses
            query = m.select().where(free).order_by(m.id).limit(self._batch_size)
            if not isinstance(db, peewee.SqliteDatabase):
                query = query.for_update("FOR UPDATE SKIP LOCKED")
            rows = list(query)
            if rows:
                m.update(self.lease()).where(m.id.in_([r.id for r in rows])).execute()
        return rows

    def _delete(self, ids: list[str]) -> None:
        # Not durable: a delete lost to a power cut publishes its events again, which
        # JetStream's dedupe window and the consumers' event ids absorb.
        with write_transaction(self._model._meta.database, durable=False):
            self._model.delete().where(self._model.id.in_(ids)).execute()


_RELAYS: weakref.WeakKeyDictionary[type[OutboxRow], OutboxRelay] = weakref.WeakKeyDictionary()
