"""The gateway's ASGI application: matches a route, builds the gRPC request, calls the service
and answers JSON; `/healthz` and `/readyz` for probes, `/openapi.json` for the API's
description and `/docs` for its page (with the assets under `/docs/`).

Bad requests are answered here, before any upstream call: unknown path 404, wrong method 405
(with Allow), body over the cap 413, non-JSON content type 415, malformed input 400 — each with
a `google.rpc.Status` JSON body. `/readyz` is 200 while the gateway runs, with each upstream's
health in the body.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import grpc
from google.protobuf.message import Message

from services.gateway.docs import Asset
from services.gateway.errors import HTTP_STATUS, from_rpc_error, status_body
from services.gateway.metrics import GatewayMetrics
from services.gateway.routes import Route, Router
from services.gateway.transcode import BadInput, build_request, render_response
from services.gateway.upstreams import Upstreams

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # a client's X-Request-Id, else ours
_VISIBLE_ASCII = re.compile(rb"[\x20-\x7e]{1,8192}")


@dataclass(frozen=True)
class Endpoint:
    route: Route
    request_class: type[Message]
    call: grpc.aio.UnaryUnaryMultiCallable


class TooLarge(Exception):
    pass


class GatewayApp:
    def __init__(
        self,
        router: Router,
        upstreams: Upstreams,
        max_body_bytes: int,
        upstream_timeout: float,
        openapi: bytes,
        docs: Mapping[str, Asset] | None = None,
    ) -> None:
        self._router = router
        self._endpoints = {}
        for route in router.routes:
            request_class, call = upstreams.callable_for(route.method)
            self._endpoints[id(route)] = Endpoint(route, request_class, call)
        self._max_body = max_body_bytes
        self._timeout = upstream_timeout
        self._upstreams = upstreams
        self._openapi = openapi
        self._docs = docs or {}
        self._metrics = GatewayMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"")
        request_id = given.decode() if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        reply = _Reply(send, request_id)
        try:
            status = await self._handle(scope, headers, reply, receive)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = await reply.error(grpc.StatusCode.INTERNAL, "internal error")
        elapsed = time.perf_counter() - started
        self._metrics.observe(scope["method"], reply.route, status, elapsed)
        log.info(
            "http",
            extra={
                "fields": {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "request_id": request_id,
                    "duration_ms": round(elapsed * 1000, 3),
                }
            },
        )

    async def _handle(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        reply: _Reply,
        receive: Receive,
    ) -> int:
        method = scope["method"]
        # Match on the path as sent: routes decode each variable once, so an encoded "/" or
        # "%" inside a segment stays data.
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            reply.route = "internal"
        if path == "/healthz":
            return await reply.json(200, b'{"status":"ok"}')
        if path == "/readyz":
            return await reply.json(200, await self._readiness())
        if path == "/openapi.json" and method == "GET":
            return await reply.json(200, self._openapi)
        if path == "/metrics" and method == "GET":
            return await reply.send(200, self._metrics.content_type, self._metrics.render())
        if path in self._docs and method == "GET":
            reply.route = "docs"
            asset = self._docs[path]
            return await reply.send(200, asset.content_type, asset.body, asset.headers)
        found = self._router.match(method, path)
        if found is None:
            allowed = self._router.allowed_methods(path)
            if allowed:
                return await reply.error(
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"method {method} not allowed on {path}",
                    http=405,
                    extra_headers=[(b"allow", ", ".join(allowed).encode())],
                )
            return await reply.error(grpc.StatusCode.NOT_FOUND, f"no route for {method} {path}")
        route, path_values = found
        reply.route = route.template
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        try:
            body = await _read_body(receive, headers, self._max_body)
        except TooLarge:
            return await reply.error(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request body is larger than {self._max_body} bytes",
                http=413,
            )
        if (
            body
            and content_type
            and not (content_type == b"application/json" or content_type.endswith(b"+json"))
        ):
            return await reply.error(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unsupported content type {content_type.decode('latin-1')!r}: send "
                "application/json",
                http=415,
            )
        endpoint = self._endpoints[id(route)]
        try:
            query = parse_qsl(
                scope["query_string"].decode("latin-1"),
                keep_blank_values=True,
                strict_parsing=False,
            )
            message = build_request(route, endpoint.request_class, path_values, query, body)
        except BadInput as bad:
            violations = [(bad.field, bad.problem)] if bad.field else []
            return await reply.error(
                grpc.StatusCode.INVALID_ARGUMENT, str(bad), violations=violations
            )
        metadata = [("x-request-id", reply.request_id)]
        authorization = headers.get(b"authorization")
        if authorization is not None:
            if not _VISIBLE_ASCII.fullmatch(authorization):
                return await reply.error(
                    grpc.StatusCode.UNAUTHENTICATED, "the Authorization header is malformed"
                )
            metadata.append(("authorization", authorization.decode()))
        try:
            response = await endpoint.call(message, timeout=self._timeout, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            self._metrics.upstream_error(route.method.full_name, error.code().name)
            status, payload = from_rpc_error(error)
            return await reply.json(status, payload)
        return await reply.json(200, render_response(route, response))

    async def _readiness(self) -> bytes:
        """Ready whenever the gateway runs: an upstream outage is answered per request (503),
        and must not take every gateway out of its Service. The body tells which upstreams
        serve: `status` is "ok" when all do, "degraded" otherwise."""
        upstreams = await self._upstreams.health()
        healthy = all(status == "SERVING" for status in upstreams.values())
        document = {"status": "ok" if healthy else "degraded", "upstreams": upstreams}
        return json.dumps(document).encode()


class _Reply:
    """Sends one response; `route` labels it in the metrics."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self.request_id = request_id
        self.route = "unmatched"

    async def json(
        self, status: int, payload: bytes, extra_headers: list[tuple[bytes, bytes]] = ()
    ) -> int:
        return await self.send(status, b"application/json", payload, extra_headers)

    async def send(
        self,
        status: int,
        content_type: bytes,
        payload: bytes,
        extra_headers: list[tuple[bytes, bytes]] = (),
    ) -> int:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", self.request_id.encode()),
            *extra_headers,
        ]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": payload})
        return status

    async def error(
        self,
        code: grpc.StatusCode,
        message: str,
        http: int | None = None,
        violations: list[tuple[str, str]] = (),
        extra_headers: list[tuple[bytes, bytes]] = (),
    ) -> int:
        status = http or HTTP_STATUS[code]
        return await self.json(status, status_body(code, message, violations), extra_headers)


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
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


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
