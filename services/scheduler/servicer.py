"""JobsService over gRPC: shows the jobs and fires one on demand."""

from __future__ import annotations

import grpc

from joist.v1 import jobs_pb2, jobs_pb2_grpc
from services.common.errors import InvalidArgument, NotFound
from services.common.events import SUBJECT_PREFIX
from services.common.timestamps import to_timestamp
from services.scheduler.runner import JobRunner


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner

    async def ListJobs(
        self, request: jobs_pb2.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.ListJobsResponse:
        return jobs_pb2.ListJobsResponse(jobs=[self._job(name) for name in self._runner.jobs])

    async def GetJob(
        self, request: jobs_pb2.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.Job:
        return self._job(self._known(request.name))

    async def RunJob(
        self, request: jobs_pb2.RunJobRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.Job:
        self._runner.run_now(self._known(request.name))
        return self._job(request.name)

    def _known(self, name: str) -> str:
        if not name:
            raise InvalidArgument.field("name", "is required")
        if name not in self._runner.jobs:
            raise NotFound(f"job {name!r} not found")
        return name

    def _job(self, name: str) -> jobs_pb2.Job:
        state = self._runner.jobs[name]
        return jobs_pb2.Job(
            name=name,
            schedule=state.spec.describe(),
            subject=SUBJECT_PREFIX + state.spec.subject_kind,
            next_run_time=to_timestamp(self._runner.next_run(name)),
            last_run_time=to_timestamp(state.last_run),
            run_count=state.run_count,
        )
