"""Wiring of the gateway: route table from the protos, the OpenAPI document described by the
protos' comments (from the descriptor set `make protos` writes), the `/docs` page, upstream
channels, the HTTP server (uvicorn with httptools) and a gRPC server for its health."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from importlib import resources
from importlib.metadata import version

import uvicorn

from joist.v1 import collections_pb2, jobs_pb2, notifications_pb2, records_pb2
from services.common.config import Config
from services.common.server import ServiceRuntime
from services.gateway.app import GatewayApp
from services.gateway.docs import docs_assets
from services.gateway.openapi import build_openapi, proto_comments
from services.gateway.routes import Router, routes_of
from services.gateway.upstreams import Upstreams

PROTO_MODULES = (collections_pb2, records_pb2, notifications_pb2, jobs_pb2)
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


def build_router(config: Config) -> tuple[Router, Upstreams]:
    targets = {
        "joist.v1.CollectionsService": config.gateway.records_target,
        "joist.v1.RecordsService": config.gateway.records_target,
        "joist.v1.NotificationsService": config.gateway.notifier_target,
        "joist.v1.JobsService": config.gateway.scheduler_target,
    }
    services = [s for m in PROTO_MODULES for s in m.DESCRIPTOR.services_by_name.values()]
    routes = [
        route
        for service in services
        if service.full_name in targets
        for route in routes_of(service)
    ]
    return Router(routes), Upstreams(targets)


async def serve(config: Config) -> None:
    settings = config.gateway
    router, upstreams = build_router(config)

    comments = proto_comments(DESCRIPTOR_SET.read_bytes())
    description = build_openapi(
        router.routes, title="Joist API", version=version("joist"), comments=comments
    )
    app = GatewayApp(
        router,
        upstreams,
        settings.max_body_bytes,
        settings.upstream_timeout,
        openapi=json.dumps(description, separators=(",", ":")).encode(),
        docs=docs_assets(),
    )
    host, _, port = settings.http_listen.rpartition(":")
    front_door = HttpFrontDoor(
        _EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=int(port),
                http="httptools",
                lifespan="off",
                access_log=False,
                log_config=None,
                server_header=False,
                timeout_graceful_shutdown=5,
            )
        )
    )
    runtime = ServiceRuntime("gateway", settings.grpc_listen)
    runtime.start_background(front_door.run())
    runtime.on_stopping(front_door.stop)
    runtime.on_shutdown(upstreams.close)
    await runtime.run()
