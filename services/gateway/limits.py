"""The gateway's protections against too much: the request body cap (413), a token bucket per
client address for anonymous writes (429), and the cap on requests in flight (503).

Buckets are per gateway process: with N replicas a client may get up to N times the rate.
IPv6 clients are counted by /64, the block one subscriber usually holds. The table of buckets
is bounded: past `max_clients`, the least recently seen clients are forgotten (their buckets
refill to full, which only ever favours them).
"""

from __future__ import annotations

import ipaddress
import math
import time
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


def client_key(host: str) -> str:
    """Who a client is for rate limiting: its IPv4 address, or its IPv6 /64."""
    if ":" not in host:
        return host
    try:
        return str(ipaddress.IPv6Network(f"{host}/64", strict=False))
    except ValueError:
        return host


class TokenBuckets:
    """`rate` tokens per second per key, up to `burst` saved; `take` spends one."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # key: (tokens, as of), LRU order

    def take(self, key: str, now: float | None = None) -> float:
        """0 when a token was spent, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, since = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - since) * self._rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self._buckets) > self._max_clients:
            del self._buckets[next(iter(self._buckets))]
        return wait


def retry_after(seconds: float) -> bytes:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds))).encode()
