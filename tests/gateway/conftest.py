"""A real gateway for the tests: the test-only EchoService served by a grpc.aio server on a free
port, behind the app `build_gateway` makes and the uvicorn server `http_server` runs (the
production wiring, with the echo service instead of Joist's), called over HTTP with httpx."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.cli.processes import free_port
from services.common.config import GatewayConfig
from services.common.server import SERVER_OPTIONS
from services.gateway.app import GatewayApp
from services.gateway.service import build_gateway, http_server
from tests.gateway.echo import EchoServicer, compile_echo

# The rate limit is off unless a test turns it on: tests are one client sending many writes.
TEST_SETTINGS = {"anonymous_write_rate": 0.0}


@dataclasses.dataclass
class Gateway:
    client: httpx.AsyncClient
    servicer: EchoServicer
    app: GatewayApp
    base_url: str


@pytest.fixture(scope="session")
def echo(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return compile_echo(tmp_path_factory.mktemp("echo_protos"))


@contextlib.asynccontextmanager
async def running_gateway(echo: SimpleNamespace, **settings: Any) -> AsyncIterator[Gateway]:
    servicer = EchoServicer(echo.pb2)
    server = grpc.aio.server(options=SERVER_OPTIONS)
    echo.pb2_grpc.add_EchoServiceServicer_to_server(servicer, server)
    service = echo.pb2.DESCRIPTOR.services_by_name["EchoService"]
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set(service.full_name, health_pb2.HealthCheckResponse.SERVING)
    target = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    config = GatewayConfig(http_listen=f"127.0.0.1:{free_port()}", **{**TEST_SETTINGS, **settings})
    app = build_gateway(config, [(service, target)])
    front_door = http_server(app, config)
    serving = asyncio.create_task(front_door.run())
    base_url = f"http://{config.http_listen}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            await _wait_until_up(client, serving)
            yield Gateway(client, servicer, app, base_url)
    finally:
        await front_door.stop()
        await serving
        await app.close()
        await server.stop(None)


async def _wait_until_up(client: httpx.AsyncClient, serving: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            await client.get("/healthz")
            return
        except httpx.TransportError:
            if serving.done() or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


StartGateway = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def start_gateway(echo: SimpleNamespace) -> StartGateway:
    """`async with start_gateway(max_in_flight=1) as gateway:` with settings of its own."""
    return lambda **settings: running_gateway(echo, **settings)


@pytest.fixture
async def gateway(echo: SimpleNamespace) -> AsyncIterator[Gateway]:
    async with running_gateway(echo) as running:
        yield running


@pytest.fixture
def api(gateway: Gateway) -> httpx.AsyncClient:
    return gateway.client
