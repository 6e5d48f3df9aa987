"""CORS: which web pages may call the API from a browser (`gateway.cors_origins`).

A request from an allowed origin gets `Access-Control-Allow-Origin` (the origin itself, or `*`
when any is allowed) and may read `X-Request-Id` and `Retry-After`. A preflight (`OPTIONS`
with `Access-Control-Request-Method`) is answered by the gateway: 204 with the methods the path
serves and the headers the API reads, cached by the browser for 10 minutes; 403 for an origin
that is not allowed. No credentials mode: the API reads bearer tokens, never cookies.
"""

from __future__ import annotations

from collections.abc import Iterable

Header = tuple[bytes, bytes]

ALLOWED_HEADERS = b"authorization, content-type, grpc-timeout, x-request-id"
EXPOSED_HEADERS = b"x-request-id, retry-after"
MAX_AGE = b"600"


class CorsPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        listed = frozenset(origins)
        self._any = "*" in listed
        self._origins = frozenset(origin.encode() for origin in listed)
        # Answers differ by Origin unless every origin gets the same `*`.
        self._vary: list[Header] = [] if self._any or not listed else [(b"vary", b"origin")]
        self._exposed = (b"access-control-expose-headers", EXPOSED_HEADERS)

    def allows(self, origin: bytes) -> bool:
        return self._any or origin in self._origins

    def headers(self, origin: bytes | None) -> list[Header]:
        """Headers for a response to a request carrying `origin` (None: not a CORS request)."""
        if origin is None or not self.allows(origin):
            return self._vary
        allowed = b"*" if self._any else origin
        return [*self._vary, (b"access-control-allow-origin", allowed), self._exposed]

    def preflight(self, methods: Iterable[str]) -> list[Header]:
        """What the 204 answering an allowed origin's preflight adds to `headers`."""
        return [
            (b"access-control-allow-methods", ", ".join(methods).encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", MAX_AGE),
        ]
