"""The test-only EchoService (protos/joist_test/v1/echo.proto): compiled with grpc_tools into a
temporary folder when the tests run, and its servicer."""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections import Counter
from importlib import resources
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from grpc_tools import protoc

PROTOS = Path(__file__).parent / "protos"


def compile_echo(out: Path) -> SimpleNamespace:
    """Generates echo_pb2 and echo_pb2_grpc into `out` and imports them."""
    googleapis = Path(str(resources.files("google.api").joinpath("annotations.proto"))).parents[2]
    well_known = resources.files("grpc_tools").joinpath("_proto")
    args = [f"-I{PROTOS}", f"-I{googleapis}", f"-I{well_known}"]
    outputs = [f"--python_out={out}", f"--grpc_python_out={out}"]
    assert protoc.main(["protoc", *args, *outputs, "joist_test/v1/echo.proto"]) == 0
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("joist_test.v1.echo_pb2")
        pb2_grpc = importlib.import_module("joist_test.v1.echo_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    return SimpleNamespace(pb2=pb2, pb2_grpc=pb2_grpc)


class EchoServicer:
    """Answers as echo.proto describes; counts Flaky calls and notices cancelled streams."""

    def __init__(self, pb2: ModuleType) -> None:
        self._pb2 = pb2
        self.attempts: Counter[str] = Counter()
        self.stream_cancelled = asyncio.Event()

    async def Echo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        reply = self._pb2.Sample()
        reply.CopyFrom(request)
        for key, value in context.invocation_metadata() or ():
            if isinstance(value, str) and not key.startswith(("grpc-", ":")):
                reply.headers[key] = value
        reply.headers["time-remaining"] = f"{context.time_remaining():.3f}"
        return reply

    async def UpdateSample(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return request

    async def Answer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await asyncio.sleep(request.delay.ToTimedelta().total_seconds())
        initial = [(k, v) for k, v in request.metadata.items() if k.startswith("initial-")]
        if initial:
            await context.send_initial_metadata(initial)
        trailing = [(k, v) for k, v in request.metadata.items() if not k.startswith("initial-")]
        if request.code == 0:
            context.set_trailing_metadata(trailing)
            return self._pb2.Sample(id="answered")
        status = status_pb2.Status(code=request.code, message=request.message)
        if request.code == code_pb2.INVALID_ARGUMENT:
            violation = error_details_pb2.BadRequest.FieldViolation(field="id", description="bad")
            packed = any_pb2.Any()
            packed.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
            status.details.append(packed)
        failure = rpc_status.to_status(status)
        await context.abort(failure.code, failure.details, (*failure.trailing_metadata, *trailing))

    async def Flaky(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        self.attempts[request.key] += 1
        if self.attempts[request.key] <= request.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not yet")
        return self._pb2.FlakyReply(attempts=self.attempts[request.key])

    FlakyWrite = Flaky

    async def Watch(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        interval = request.interval.ToTimedelta().total_seconds()
        try:
            for index in range(request.count + 1):
                if request.HasField("fail_after") and index == request.fail_after:
                    code = next(c for c in grpc.StatusCode if c.value[0] == request.code)
                    await context.abort(code, f"failed after {index} samples")
                if index == request.count:
                    return
                yield self._pb2.Sample(id=str(index), count=index)
                await asyncio.sleep(interval)
        except asyncio.CancelledError:
            self.stream_cancelled.set()
            raise
