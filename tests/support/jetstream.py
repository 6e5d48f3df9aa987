"""Reads what is on the JOIST_EVENTS stream, for tests that check what was published."""

from __future__ import annotations

import asyncio
import contextlib

import nats
from nats.aio.msg import Msg

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
