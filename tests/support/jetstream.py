"""Reads what is on the JOIST_EVENTS stream, for tests that check what was published."""

from __future__ import annotations

import asyncio
import contextlib

import nats
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from services.common.broker import STREAM


async def stream_messages(url: str, subject: str, expected: int, wait: float = 10) -> list[Msg]:
    """Waits up to `wait` seconds for `expected` messages on `subject`, then collects any extra
    ones for half a second more (so duplicates show up)."""
    client = await nats.connect(url)
    try:
        subscription = await client.jetstream().pull_subscribe(subject, stream=STREAM)
        got: list[Msg] = []
        deadline = asyncio.get_running_loop().time() + wait
        while len(got) < expected and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(TimeoutError):
                got += await subscription.fetch(expected - len(got), timeout=0.5)
        with contextlib.suppress(TimeoutError):
            got += await subscription.fetch(10, timeout=0.5)
        return got
    finally:
        await client.close()


async def settled_messages(
    url: str, subject: str, expected: int, wait: float = 30, settle: float = 1.0
) -> list[Msg]:
    """Every message on `subject`, once at least `expected` arrived (or `wait` seconds passed)
    and no new one came for `settle` seconds. Its consumer needs no acks, so it reads any
    number of messages (stream_messages' consumer stops at 1000 unacknowledged ones)."""
    client = await nats.connect(url)
    try:
        subscription = await client.jetstream().pull_subscribe(
            subject, stream=STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        got: list[Msg] = []
        quiet_since = loop.time()
        while True:
            batch: list[Msg] = []
            with contextlib.suppress(TimeoutError):
                batch = await subscription.fetch(1000, timeout=0.5)
            now = loop.time()
            if batch:
                got += batch
                quiet_since = now
            elif now - quiet_since >= settle and (len(got) >= expected or now >= deadline):
                return got
    finally:
        await client.close()
