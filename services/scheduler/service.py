"""Wiring of the scheduler: jobs, broker and gRPC server (it keeps no database; every RPC is
for admins and service tokens)."""

from __future__ import annotations

from joist.v1 import jobs_pb2, jobs_pb2_grpc
from services.common.auth import Access, AuthInterceptor, method_policies
from services.common.broker import Broker
from services.common.config import Config
from services.common.server import ServiceRuntime
from services.common.tokens import TokenVerifier
from services.scheduler.jobs import job_specs
from services.scheduler.runner import JobRunner
from services.scheduler.servicer import JobsServicer


async def serve(config: Config) -> None:
    jobs = job_specs(config.scheduler)
    auth = AuthInterceptor(
        TokenVerifier.from_config(config.auth),
        method_policies(jobs_pb2, "JobsService", Access.ADMIN_OR_SERVICE),
    )
    broker = Broker(config.nats, name="scheduler")
    runner = JobRunner(jobs, broker, config.nats.request_timeout)
    runtime = ServiceRuntime("scheduler", config.scheduler.grpc_listen, auth=auth)
    runtime.add_service(
        jobs_pb2,
        "JobsService",
        jobs_pb2_grpc.add_JobsServiceServicer_to_server,
        JobsServicer(runner),
    )
    broker.attach(runtime)
    runtime.start_background(runner.run())
    await runtime.run()
