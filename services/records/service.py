"""Wiring of the records service: database and outbox, broker, gRPC server."""

from __future__ import annotations

from joist.v1 import records_pb2, records_pb2_grpc
from services.common.broker import Broker
from services.common.config import Config
from services.common.server import ServiceRuntime
from services.common.store import EventStore
from services.records.repository import RecordsRepository
from services.records.schema import BUILTIN_COLLECTIONS
from services.records.servicer import RecordsServicer


async def serve(config: Config) -> None:
    broker = Broker(config.nats, name="records")
    store = EventStore.open(config.records, broker, config.nats.request_timeout)
    repository = RecordsRepository(store.db, BUILTIN_COLLECTIONS, store.outbox)
    await store.executor.run(repository.create_tables)
    runtime = ServiceRuntime("records", config.records.grpc_listen)
    runtime.add_service(
        records_pb2,
        "RecordsService",
        records_pb2_grpc.add_RecordsServiceServicer_to_server,
        RecordsServicer(repository, store.executor),
    )
    broker.attach(runtime)
    store.attach(runtime)
    await runtime.run()
