"""gRPC channels to the services and one generic unary callable per route's method."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
]


class Upstreams:
    """One channel per target; `services` maps a proto service's full name to its target."""

    def __init__(self, services: Mapping[str, str]) -> None:
        self._targets = dict(services)
        self._channels: dict[str, grpc.aio.Channel] = {}

    def callable_for(
        self, method: MethodDescriptor
    ) -> tuple[type[Message], grpc.aio.UnaryUnaryMultiCallable]:
        """The request class and the callable of `method`."""
        target = self._targets[method.containing_service.full_name]
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
            self._channels[target] = channel
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        return request_class, call

    async def health(self) -> dict[str, str]:
        """Each upstream service's health status name (UNAVAILABLE when it does not answer)."""

        async def check(service: str) -> str:
            channel = self._channels.get(self._targets[service])
            if channel is None:
                return "UNKNOWN"
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1
                )
            except grpc.aio.AioRpcError as error:
                return error.code().name
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        services = sorted(self._targets)
        statuses = await asyncio.gather(*(check(service) for service in services))
        return dict(zip(services, statuses, strict=True))

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
