"""The transactional outbox: events are written in the same transaction as the data they
describe, and a relay publishes them to JetStream after the commit.

    Outbox = outbox_model(db)                      # the `joist_outbox` table of this database
    with write_transaction(db):
        ...write rows...
        enqueue(Outbox, [make_event(...)])          # commits or rolls back with the rows
    relay.wake()                                    # publish now; polling is only the safety net

The relay publishes pending rows in id (time) order with `Nats-Msg-Id` = event id, then deletes
them. A crash between publish and delete re-publishes the same id, which JetStream drops inside
its duplicate window; consumers dedupe by event id beyond it. While NATS is down, rows wait and
the relay retries with capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import nats.errors
import peewee

from services.common.broker import Broker
from services.common.database import DatabaseExecutor, write_transaction
from services.common.events import Event
from services.common.timestamps import utc_now

log = logging.getLogger(__name__)


class OutboxRow(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=36)
    subject = peewee.CharField(max_length=255)
    payload = peewee.BlobField()
    create_time = peewee.DateTimeField(default=utc_now)

    class Meta:
        table_name = "joist_outbox"


def outbox_model(db: peewee.Database) -> type[OutboxRow]:
    """The outbox table bound to `db` (each service owns its own)."""

    class Outbox(OutboxRow):
        class Meta:
            database = db
            table_name = "joist_outbox"

    return Outbox


def enqueue(model: type[OutboxRow], events: Iterable[Event]) -> None:
    """Adds events to the outbox; call it inside the transaction that writes their data."""
    rows = [{"id": e.id, "subject": e.subject, "payload": e.payload} for e in events]
    if rows:
        model.insert_many(rows).execute()


class OutboxRelay:
    """Publishes outbox rows to JetStream: at once when woken, every `poll_interval` anyway."""

    def __init__(
        self,
        executor: DatabaseExecutor,
        model: type[OutboxRow],
        broker: Broker,
        publish_timeout: float,
        poll_interval: float = 1.0,
        batch_size: int = 256,
    ) -> None:
        self._executor = executor
        self._model = model
        self._broker = broker
        self._publish_timeout = publish_timeout
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Call after a commit that enqueued events (from the event loop's thread)."""
        self._wake.set()

    async def run(self) -> None:
        js = await self._broker.jetstream()
        backoff = 0.1
        while True:
            self._wake.clear()
            try:
                published = await self._publish_batch(js)
            except (TimeoutError, nats.errors.Error) as exc:
                log.warning("outbox publish failed, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            if published == self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _publish_batch(self, js: nats.js.JetStreamContext) -> int:
        rows = await self._executor.run(self._pending)
        if not rows:
            return 0
        results = await asyncio.gather(
            *(
                js.publish(
                    row.subject,
                    bytes(row.payload),
                    timeout=self._publish_timeout,
                    headers={"Nats-Msg-Id": row.id},
                )
                for row in rows
            ),
            return_exceptions=True,
        )
        failed_at = next(
            (i for i, result in enumerate(results) if isinstance(result, BaseException)),
            len(rows),
        )
        # Delete only the published prefix: later rows go again, in order, and JetStream
        # drops the copies that did get through.
        if failed_at:
            await self._executor.run(self._delete, [row.id for row in rows[:failed_at]])
        if failed_at < len(rows):
            raise results[failed_at]
        return len(rows)

    def _pending(self) -> list[OutboxRow]:
        query = self._model.select().order_by(self._model.id).limit(self._batch_size)
        return list(query)

    def _delete(self, ids: list[str]) -> None:
        with write_transaction(self._model._meta.database):
            self._model.delete().where(self._model.id.in_(ids)).execute()
