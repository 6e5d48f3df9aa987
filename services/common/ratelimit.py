"""Token buckets per key (a client address, an account), for the gateway's anonymous-write
limit and records' login limits.

IPv6 clients are counted by /64, the block one subscriber usually holds. The table of buckets
is bounded: past `max_clients`, the least recently seen keys are forgotten (their buckets
refill to full, which only ever favours them).
"""

from __future__ import annotations

import ipaddress
import time


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
