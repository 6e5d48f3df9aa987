"""One HTTP response through ASGI: whole JSON (or other) bodies, `google.rpc.Status` errors, or a
stream of Server-Sent Events. Every response carries the request's `X-Request-Id` and its CORS
headers; `status` and `route` are kept for the access log and the metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from services.gateway.errors import HTTP_STATUS, status_body

Send = Callable[[dict[str, Any]], Awaitable[None]]
Header = tuple[bytes, bytes]

JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"
_STREAM_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


class Reply:
    __slots__ = ("_common", "_send", "request_id", "route", "status", "upstream_code")

    def __init__(self, send: Send, request_id: str, common: Sequence[Header]) -> None:
        self._send = send
        self._common = [(b"x-request-id", request_id.encode()), *common]
        self.request_id = request_id
        self.route = "unmatched"  # the metrics label: the path template once a route matched
        self.status = 0  # 0 until the response has started
        # how the call to the service ended (a stream that failed midway is still a 200)
        self.upstream_code = ""

    async def send(
        self, status: int, content_type: bytes, payload: bytes, extra: Sequence[Header] = ()
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(payload)).encode()),
            *self._common,
            *extra,
        ]
        self.status = status
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": payload})

    async def json(self, status: int, payload: bytes, extra: Sequence[Header] = ()) -> None:
        await self.send(status, JSON, payload, extra)

    async def error(
        self,
        code: grpc.StatusCode,
        message: str,
        http: int | None = None,
        violations: Sequence[tuple[str, str]] = (),
        extra: Sequence[Header] = (),
    ) -> None:
        body = status_body(code, message, violations)
        await self.json(http or HTTP_STATUS[code], body, extra)

    async def start_events(self, extra: Sequence[Header]) -> None:
        """Starts a 200 `text/event-stream`; then `event`, and `end` once."""
        headers = [(b"content-type", EVENT_STREAM), *_STREAM_HEADERS, *self._common, *extra]
        self.status = 200
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})

    async def event(self, data: bytes, name: bytes = b"") -> None:
        """One event; `data` is one line of JSON (json.dumps never writes a raw newline)."""
        head = b"event: " + name + b"\ndata: " if name else b"data: "
        await self._send(
            {"type": "http.response.body", "body": head + data + b"\n\n", "more_body": True}
        )

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b""})
