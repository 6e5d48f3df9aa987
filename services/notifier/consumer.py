"""The notifier's durable JetStream pull consumer.

One fetch loop asks for the next message and is woken as soon as one is stored (a long pull,
not a timer); each message is handled in its own task, at most `concurrency` at a time. Acks are
explicit: `ack` once handled, `nak(delay)` with backoff when a delivery must be retried (never a
bare `nak()`), `term` for a message that is not a CloudEvent or that failed unexpectedly
`max_deliveries` times (logged as an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.broker import STREAM, Broker
from services.common.events import SUBJECT_PREFIX, parse_event
from services.notifier.dispatcher import Dispatcher

log = logging.getLogger(__name__)

DURABLE = "notifier"
UNEXPECTED_FAILURE_DELAY = 5.0


class EventConsumer:
    def __init__(
        self,
        broker: Broker,
        dispatcher: Dispatcher,
        concurrency: int,
        ack_wait: float,
        max_deliveries: int,
    ) -> None:
        self._broker = broker
        self._dispatcher = dispatcher
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._ack_wait = ack_wait
        self._max_deliveries = max_deliveries
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        js = await self._broker.jetstream()
        config = ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=self._concurrency * 4,
        )
        subscription = await js.pull_subscribe(
            SUBJECT_PREFIX + ">", durable=DURABLE, stream=STREAM, config=config
        )
        try:
            while True:
                await self._slots.acquire()
                try:
                    messages = await subscription.fetch(1, timeout=5)
                except TimeoutError:
                    self._slots.release()
                    continue
                except nats.errors.Error as exc:
                    self._slots.release()
                    log.warning("fetch failed: %s", exc)
                    await asyncio.sleep(0.5)
                    continue
                task = asyncio.create_task(self._handle(messages[0]))
                self._tasks.add(task)
                task.add_done_callback(self._done)
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self._ack_wait)
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(self, msg: Msg) -> None:
        try:
            event = parse_event(msg.data)
        except ValueError as exc:
            log.error("dropping a message that is not a CloudEvent on %s: %s", msg.subject, exc)
            await msg.term()
            return
        kind = msg.subject.removeprefix(SUBJECT_PREFIX)
        try:
            handled = self._dispatcher.handles(kind)
            retry_in = await self._dispatcher.dispatch(event, kind) if handled else None
        except Exception:
            if msg.metadata.num_delivered >= self._max_deliveries:
                log.exception(
                    "handling event %s failed %d times; giving up on it",
                    event["id"],
                    msg.metadata.num_delivered,
                )
                await msg.term()
                return
            log.exception("handling event %s failed; redelivering", event["id"])
            retry_in = UNEXPECTED_FAILURE_DELAY
        try:
            if retry_in is None:
                await msg.ack()
            else:
                await msg.nak(delay=retry_in)
        except nats.errors.Error as exc:
            log.warning("cannot settle event %s (it will be redelivered): %s", event["id"], exc)
