"""A service's own database together with its outbox and the relay that publishes it — what
records and the notifier both run.

    store = EventStore.open(config.records, broker, config.nats.request_timeout)
    await store.executor.run(repository.create_tables)
    store.attach(runtime)          # relay runs with the server; threads stop at shutdown
"""

from __future__ import annotations

import socket
from typing import Protocol

import peewee

from services.common.broker import Broker
from services.common.database import DatabaseExecutor, open_database
from services.common.outbox import OutboxRelay, OutboxRow, outbox_model
from services.common.server import ServiceRuntime


class StoreSettings(Protocol):
    grpc_listen: str
    database_url: str
    db_workers: int
    relay_poll_interval: float
    relay_batch_size: int


class EventStore:
    def __init__(
        self,
        db: peewee.Database,
        executor: DatabaseExecutor,
        outbox: type[OutboxRow],
        relay: OutboxRelay,
    ) -> None:
        self.db = db
        self.executor = executor
        self.outbox = outbox
        self.relay = relay

    @classmethod
    def open(cls, settings: StoreSettings, broker: Broker, publish_timeout: float) -> EventStore:
        db = open_database(settings.database_url, pool_size=settings.db_workers)
        executor = DatabaseExecutor(db, settings.db_workers)
        outbox = outbox_model(db)
        relay = OutboxRelay(
            executor,
            outbox,
            broker,
            publish_timeout=publish_timeout,
            poll_interval=settings.relay_poll_interval,
            batch_size=settings.relay_batch_size,
            owner=f"{socket.gethostname()}/{settings.grpc_listen}",
        )
        return cls(db, executor, outbox, relay)

    def attach(self, runtime: ServiceRuntime) -> None:
        runtime.start_background(self.relay.run())
        runtime.on_shutdown(self.executor.close)
