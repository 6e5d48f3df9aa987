"""The gateway's ASGI application: matches a route, builds the gRPC request, calls the service
and answers JSON (or Server-Sent Events for a server-streaming RPC); `/healthz` and `/readyz`
for probes, `/metrics`, `/openapi.json` for the API's description and `/docs` for its page
(with the assets under `/docs/`).

A request goes through, in order: a CORS preflight is answered here; the gateway's own
endpoints; route matching (404, or 405 with Allow); overload (503 with Retry-After past
`max_in_flight`); the anonymous-write rate limit (429 with Retry-After); the content type (415);
the body cap (413); the request message and the headers (400, or 401 for a malformed
Authorization) — all before any upstream call, each with a `google.rpc.Status` JSON body. The
upstream's status maps to HTTP as grpc-gateway does. Every request gets one access-log line
(logger `services.gateway.access`). `/readyz` is 200 while the gateway runs, with each
upstream's health in the body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from services.common.checks import split_list
from services.common.config import GatewayConfig
from services.common.ratelimit import TokenBuckets, client_key
from services.gateway.cors import CorsPolicy
from services.gateway.docs import Asset
from services.gateway.errors import from_rpc_error
from services.gateway.headers import authorization, grpc_timeout, metadata_headers, request_id
from services.gateway.limits import TooLarge, read_body, retry_after
from services.gateway.metrics import GatewayMetrics
from services.gateway.params import BadInput, query_pairs
from services.gateway.reply import Reply
from services.gateway.routes import Route, Router
from services.gateway.streaming import relay_events
from services.gateway.transcode import build_request, render_response
from services.gateway.upstreams import RpcCallable, Upstreams

log = logging.getLogger(__name__)
access_log = logging.getLogger("services.gateway.access")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_GETS = frozenset({"GET", "HEAD"})  # uvicorn leaves the body of a HEAD response out
_LOGGED_PATH = 256  # characters of an unmatched path kept in the access log


@dataclass(frozen=True)
class Endpoint:
    route: Route
    request_class: type[Message]
    call: RpcCallable
    deadline: float  # seconds; a Grpc-Timeout header may only shorten it


class GatewayApp:
    def __init__(
        self,
        settings: GatewayConfig,
        router: Router,
        upstreams: Upstreams,
        openapi: bytes,
        docs: Mapping[str, Asset] | None = None,
    ) -> None:
        self._router = router
        self._endpoints: dict[int, Endpoint] = {}
        for route in router.routes:
            request_class, call = upstreams.callable_for(route.method)
            streaming = route.method.server_streaming
            deadline = settings.stream_timeout if streaming else settings.upstream_timeout
            self._endpoints[id(route)] = Endpoint(route, request_class, call, deadline)
        self._settings = settings
        self._cors = CorsPolicy(split_list(settings.cors_origins))
        rate, burst = settings.anonymous_write_rate, settings.anonymous_write_burst
        self._buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self._in_flight = 0
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
        cors = self._cors.headers(headers.get(b"origin"))
        reply = Reply(send, request_id(headers.get(b"x-request-id")), cors)
        try:
            await self._handle(scope, headers, reply, receive)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not reply.status:
                await reply.error(grpc.StatusCode.INTERNAL, "internal error")
        elapsed = time.perf_counter() - started
        self._metrics.observe(scope["method"], reply.route, reply.status, elapsed)
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "path": reply.route if reply.route.startswith("/") else scope["path"][:_LOGGED_PATH],
            "status": reply.status,
            "duration_ms": round(elapsed * 1000, 3),
            "request_id": reply.request_id,
            "client": client[0] if client else "",
        }
        if reply.upstream_code:  # how the call to the service ended
            fields["grpc_code"] = reply.upstream_code
        access_log.info("request", extra={"fields": fields})

    async def _handle(
        self, scope: Scope, headers: dict[bytes, bytes], reply: Reply, receive: Receive
    ) -> None:
        method = scope["method"]
        # Match on the path as sent: routes decode each variable once, so an encoded "/" or
        # "%" inside a segment stays data.
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        origin = headers.get(b"origin")
        if method == "OPTIONS" and origin and b"access-control-request-method" in headers:
            await self._preflight(path, origin, reply)
            return
        if await self._own_endpoint(method, path, reply):
            return
        found = self._router.match(method, path)
        if found is None:
            allowed = self._router.allowed_methods(path)
            if allowed:
                allow = [(b"allow", ", ".join(allowed).encode())]
                message = f"method {method} not allowed on {path}"
                await reply.error(grpc.StatusCode.UNIMPLEMENTED, message, http=405, extra=allow)
            else:
                await reply.error(grpc.StatusCode.NOT_FOUND, f"no route for {method} {path}")
            return
        route, path_values = found
        reply.route = route.template
        if self._in_flight >= self._settings.max_in_flight:
            message = "the gateway is busy: retry in a second"
            await reply.error(grpc.StatusCode.UNAVAILABLE, message, extra=[(b"retry-after", b"1")])
            return
        if self._buckets and method not in _READS and b"authorization" not in headers:
            client = scope.get("client")
            wait = self._buckets.take(client_key(client[0] if client else ""))
            if wait:
                message = "too many requests without credentials from this address"
                wait_header = [(b"retry-after", retry_after(wait))]
                await reply.error(grpc.StatusCode.RESOURCE_EXHAUSTED, message, extra=wait_header)
                return
        self._in_flight += 1
        try:
            endpoint = self._endpoints[id(route)]
            await self._proxy(endpoint, path_values, scope, headers, reply, receive)
        finally:
            self._in_flight -= 1

    async def _proxy(
        self,
        endpoint: Endpoint,
        path_values: dict[str, str],
        scope: Scope,
        headers: dict[bytes, bytes],
        reply: Reply,
        receive: Receive,
    ) -> None:
        body = await self._body(headers, reply, receive)
        if body is None:
            return
        metadata = [("x-request-id", reply.request_id)]
        client = scope.get("client")
        if client:  # the address the services' per-client limits count (e.g. logins)
            metadata.append(("x-forwarded-for", client[0]))
        if b"authorization" in headers:
            token = authorization(headers[b"authorization"])
            if token is None:
                message = "the Authorization header is malformed"
                await reply.error(grpc.StatusCode.UNAUTHENTICATED, message)
                return
            metadata.append(("authorization", token))
        route, timeout = endpoint.route, endpoint.deadline
        try:
            query = query_pairs(scope["query_string"])
            request = build_request(route, endpoint.request_class, path_values, query, body)
            if b"grpc-timeout" in headers:
                timeout = min(timeout, grpc_timeout(headers[b"grpc-timeout"]))
        except BadInput as bad:
            violations = [(bad.field, bad.problem)] if bad.field else []
            await reply.error(grpc.StatusCode.INVALID_ARGUMENT, str(bad), violations=violations)
            return
        call = endpoint.call(request, timeout=timeout, metadata=metadata)
        try:
            if route.method.server_streaming:
                ended_by = await relay_events(call, route, reply, receive)
                reply.upstream_code = "OK"
                if ended_by is not None:
                    self._count_error(endpoint, ended_by, reply)
                return
            response = await call
        except grpc.aio.AioRpcError as error:
            self._count_error(endpoint, error, reply)
            status, payload = from_rpc_error(error)
            extra = metadata_headers(error.initial_metadata())
            await reply.json(status, payload, extra + metadata_headers(error.trailing_metadata()))
            return
        reply.upstream_code = "OK"
        extra = metadata_headers(await call.initial_metadata())
        extra += metadata_headers(await call.trailing_metadata())
        await reply.json(200, render_response(route, response), extra)

    async def _body(
        self, headers: dict[bytes, bytes], reply: Reply, receive: Receive
    ) -> bytes | None:
        """The request body, or None once it was refused (413, 415)."""
        limit = self._settings.max_body_bytes
        try:
            body = await read_body(receive, headers.get(b"content-length"), limit)
        except TooLarge:
            message = f"request body is larger than {limit} bytes"
            await reply.error(grpc.StatusCode.INVALID_ARGUMENT, message, http=413)
            return None
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and content_type and not _is_json(content_type):
            shown = content_type.decode("latin-1")
            message = f"unsupported content type {shown!r}: send application/json"
            await reply.error(grpc.StatusCode.INVALID_ARGUMENT, message, http=415)
            return None
        return body

    def _count_error(self, endpoint: Endpoint, error: grpc.aio.AioRpcError, reply: Reply) -> None:
        reply.upstream_code = error.code().name
        self._metrics.upstream_error(endpoint.route.method.full_name, reply.upstream_code)

    async def _preflight(self, path: str, origin: bytes, reply: Reply) -> None:
        reply.route = "preflight"
        methods = self._router.allowed_methods(path)
        if not methods:
            await reply.error(grpc.StatusCode.NOT_FOUND, f"no route for {path}")
        elif not self._cors.allows(origin):
            shown = origin.decode("latin-1")
            message = f"origin {shown!r} may not call this API from a browser"
            await reply.error(grpc.StatusCode.PERMISSION_DENIED, message)
        else:
            await reply.send(204, b"text/plain", b"", self._cors.preflight(methods))

    async def _own_endpoint(self, method: str, path: str, reply: Reply) -> bool:
        """Answers the gateway's own endpoints; False when `path` is not one of them."""
        if path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            reply.route = "internal"
        if path == "/healthz":
            await reply.json(200, b'{"status":"ok"}')
        elif path == "/readyz":
            await reply.json(200, await self._readiness())
        elif path == "/openapi.json" and method in _GETS:
            await reply.json(200, self._openapi)
        elif path == "/metrics" and method in _GETS:
            await reply.send(200, self._metrics.content_type, self._metrics.render())
        elif path in self._docs and method in _GETS:
            reply.route = "docs"
            asset = self._docs[path]
            await reply.send(200, asset.content_type, asset.body, asset.headers)
        else:
            return False
        return True

    async def _readiness(self) -> bytes:
        """Ready whenever the gateway runs: an upstream outage is answered per request (503),
        and must not take every gateway out of its Service. The body tells which upstreams
        serve: `status` is "ok" when all do, "degraded" otherwise."""
        upstreams = await self._upstreams.health()
        healthy = all(status == "SERVING" for status in upstreams.values())
        document = {"status": "ok" if healthy else "degraded", "upstreams": upstreams}
        return json.dumps(document).encode()

    async def close(self) -> None:
        """Closes the channels to the upstreams."""
        await self._upstreams.close()


def _is_json(content_type: bytes) -> bool:
    return content_type == b"application/json" or content_type.endswith(b"+json")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
