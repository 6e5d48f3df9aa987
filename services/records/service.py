"""Wiring of the records service: database, catalog and outbox, broker, gRPC server."""

from __future__ import annotations

from joist.v1 import collections_pb2, collections_pb2_grpc, records_pb2, records_pb2_grpc
from services.common.broker import Broker
from services.common.config import Config
from services.common.keys import stored_key
from services.common.pagination import PageTokens
from services.common.server import ServiceRuntime
from services.common.store import EventStore
from services.records.catalog import Catalog
from services.records.collections_servicer import CollectionsServicer
from services.records.repository import RecordsRepository
from services.records.servicer import RecordsServicer


async def serve(config: Config) -> None:
    broker = Broker(config.nats, name="records")
    store = EventStore.open(config.records, broker, config.nats.request_timeout)
    catalog = Catalog(store.db)
    await store.executor.run(catalog.bootstrap, store.outbox)
    key = await store.executor.run(stored_key, store.db, "page_tokens")
    repository = RecordsRepository(store.db, catalog, store.outbox, PageTokens(key))
    runtime = ServiceRuntime("records", config.records.grpc_listen)
    runtime.add_service(
        records_pb2,
        "RecordsService",
        records_pb2_grpc.add_RecordsServiceServicer_to_server,
        RecordsServicer(repository, store.executor),
    )
    runtime.add_service(
        collections_pb2,
        "CollectionsService",
        collections_pb2_grpc.add_CollectionsServiceServicer_to_server,
        CollectionsServicer(catalog, store.executor),
    )
    broker.attach(runtime)
    store.attach(runtime)
    await runtime.run()
