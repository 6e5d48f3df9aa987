"""The gateway's protections against too much: the request body cap (413), a token bucket per
client address for anonymous writes (429), and the cap on requests in flight (503).

Buckets (services/common/ratelimit.py) are per gateway process: with N replicas a client may
get up to N times the rate.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]


class TooLarge(Exception):
    """The request body is over the cap."""


async def read_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """The whole request body; TooLarge as soon as it (or its Content-Length) passes `limit`."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def retry_after(seconds: float) -> bytes:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds))).encode()
