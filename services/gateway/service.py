"""Wiring of the gateway: route table from the protos, the OpenAPI document described by the
protos' comments (from the descriptor set `make protos` writes), the `/docs` page, upstream
channels, the HTTP server (uvicorn with httptools) and a gRPC server for its health.

`build_gateway` takes any list of (service descriptor, target): `serve` passes Joist's own
(`production_upstreams`), tests pass theirs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from importlib.metadata import version

import uvicorn

from joist.v1 import auth_pb2, collections_pb2, jobs_pb2, notifications_pb2, records_pb2
from services.common.checks import split_list
from services.common.config import Config, GatewayConfig
from services.common.server import ServiceRuntime
from services.gateway.app import GatewayApp
from services.gateway.docs import Asset, docs_assets
from services.gateway.openapi import build_openapi, proto_comments
from services.gateway.routes import Router, routes_of
from services.gateway.upstreams import Upstream, Upstreams

DESCRIPTOR_SET = resources.files("joist.v1").joinpath("descriptors.binpb")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service runtime owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpFrontDoor:
    """Runs the HTTP server as a background task; `stop` lets running requests finish."""

    def __init__(self, server: uvicorn.Server) -> None:
        self._server = server
        self._done = asyncio.Event()

    async def run(self) -> None:
        try:
            await self._server.serve()
        finally:
            self._done.set()
        if not self._server.should_exit:
            raise OSError("the HTTP server stopped by itself")

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._done.wait()


def production_upstreams(settings: GatewayConfig) -> list[Upstream]:
    """Joist's services and where each is served."""
    served = [
        (auth_pb2, "AuthService", settings.records_target),
        (collections_pb2, "CollectionsService", settings.records_target),
        (records_pb2, "RecordsService", settings.records_target),
        (notifications_pb2, "NotificationsService", settings.notifier_target),
        (jobs_pb2, "JobsService", settings.scheduler_target),
    ]
    return [(module.DESCRIPTOR.services_by_name[name], target) for module, name, target in served]


def build_gateway(
    settings: GatewayConfig,
    upstreams: Sequence[Upstream],
    comments: Mapping[str, str] | None = None,
    docs: Mapping[str, Asset] | None = None,
) -> GatewayApp:
    """The app for the annotated RPCs of `upstreams`: routes, OpenAPI document and channels all
    come from the descriptors, so an RPC given a `google.api.http` annotation is served without
    any gateway code. Must be called inside the event loop that will serve it."""
    router = Router(route for service, _ in upstreams for route in routes_of(service))
    description = build_openapi(
        router.routes, title="Joist API", version=version("joist"), comments=comments
    )
    return GatewayApp(
        settings,
        router,
        Upstreams(upstreams),
        openapi=json.dumps(description, separators=(",", ":")).encode(),
        docs=docs,
    )


def http_server(app: GatewayApp, settings: GatewayConfig) -> HttpFrontDoor:
    """uvicorn with httptools on `http_listen`; X-Forwarded-For is believed from trusted
    proxies only, so that the rate limit counts clients, not the proxy."""
    host, _, port = settings.http_listen.rpartition(":")
    config = uvicorn.Config(
        app,
        host=host,
        port=int(port),
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=split_list(settings.trusted_proxies),
        timeout_graceful_shutdown=5,
    )
    return HttpFrontDoor(_EmbeddedServer(config))


async def serve(config: Config) -> None:
    settings = config.gateway
    app = build_gateway(
        settings,
        production_upstreams(settings),
        comments=proto_comments(DESCRIPTOR_SET.read_bytes()),
        docs=docs_assets(),
    )
    front_door = http_server(app, settings)
    runtime = ServiceRuntime("gateway", settings.grpc_listen)
    runtime.start_background(front_door.run())
    runtime.on_stopping(front_door.stop)
    runtime.on_shutdown(app.close)
    await runtime.run()
