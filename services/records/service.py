"""Wiring of the records service: database, outbox relay, broker and gRPC server."""

from __future__ import annotations

from joist.v1 import records_pb2, records_pb2_grpc
from services.common.broker import Broker
from services.common.config import Config
from services.common.database import DatabaseExecutor, open_database
from services.common.outbox import OutboxRelay, outbox_model
from services.common.server import ServiceRuntime
from services.records.repository import RecordsRepository
from services.records.schema import BUILTIN_COLLECTIONS
from services.records.servicer import RecordsServicer


async def serve(config: Config) -> None:
    settings = config.records
    db = open_database(settings.database_url, pool_size=settings.db_workers)
    outbox = outbox_model(db)
    repository = RecordsRepository(db, BUILTIN_COLLECTIONS, outbox)
    executor = DatabaseExecutor(db, settings.db_workers)
    await executor.run(repository.create_tables)
    broker = Broker(config.nats, name="records")
    relay = OutboxRelay(
        executor,
        outbox,
        broker,
        publish_timeout=config.nats.request_timeout,
        poll_interval=settings.relay_poll_interval,
        batch_size=settings.relay_batch_size,
    )
    runtime = ServiceRuntime("records", settings.grpc_listen)
    runtime.add_service(
        records_pb2,
        "RecordsService",
        records_pb2_grpc.add_RecordsServiceServicer_to_server,
        RecordsServicer(repository, executor, relay),
    )
    runtime.start_background(broker.connect())
    runtime.start_background(relay.run())
    runtime.on_shutdown(broker.close)
    runtime.on_shutdown(executor.close)
    await runtime.run()
