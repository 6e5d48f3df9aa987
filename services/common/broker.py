"""NATS/JetStream connection: connects in the background (a service starts and serves while NATS
is down), reconnects forever, and creates the `JOIST_EVENTS` stream idempotently.

    broker = Broker(config.nats, name="records")
    broker.attach(runtime)               # connects in the background, drains at shutdown
    js = await broker.jetstream()        # waits until connected and the stream exists
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from services.common.config import NatsConfig
from services.common.server import ServiceRuntime

log = logging.getLogger(__name__)

STREAM = "JOIST_EVENTS"
SUBJECTS = ["joist.events.>"]


class Broker:
    def __init__(self, config: NatsConfig, name: str) -> None:
        self._config = config
        self._name = name
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def connect(self) -> None:
        """Connects (retrying until NATS answers) and ensures the stream; returns when ready."""
        client = await nats.connect(
            self._config.url,
            name=f"joist-{self._name}",
            connect_timeout=self._config.connect_timeout,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._client = client
        js = client.jetstream(timeout=self._config.request_timeout)
        while True:
            try:
                await ensure_stream(js, self._config)
                break
            except (TimeoutError, nats.errors.Error) as exc:
                log.warning("cannot set up stream %s yet: %s", STREAM, exc)
                await asyncio.sleep(1)
        self._js = js
        self._ready.set()
        log.info("connected to NATS", extra={"fields": {"url": client.connected_url.netloc}})

    def attach(self, runtime: ServiceRuntime) -> None:
        """Connects in the background while `runtime` serves; drains at its shutdown."""
        runtime.start_background(self.connect())
        runtime.on_shutdown(self.close)

    async def jetstream(self) -> JetStreamContext:
        await self._ready.wait()
        assert self._js is not None
        return self._js

    async def close(self) -> None:
        self._closing = True
        if self._client is not None and not self._client.is_closed:
            try:
                await asyncio.wait_for(self._client.drain(), self._config.request_timeout)
            except (TimeoutError, nats.errors.Error):
                await self._client.close()

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("disconnected from NATS")

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS")


async def ensure_stream(js: JetStreamContext, config: NatsConfig) -> None:
    """Creates the JOIST_EVENTS stream, or updates it to the configured settings."""
    wanted = StreamConfig(
        name=STREAM,
        subjects=SUBJECTS,
        storage=StorageType.FILE,
        num_replicas=config.stream_replicas,
        max_age=config.stream_max_age_days * 86400.0,
        duplicate_window=config.duplicate_window,
    )
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        try:
            await js.add_stream(wanted)
            return
        except BadRequestError:
            pass  # another service created it in between
    await js.update_stream(wanted)
