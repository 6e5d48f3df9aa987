"""gRPC channels to the services, one per target, and a generic callable per proto method.

Each channel keeps its connection checked with keepalive pings and carries a service config
that retries UNAVAILABLE (with backoff, throttled) for the methods without side effects: those
whose every HTTP binding is a GET. Other methods are never retried by the gateway, so a POST
reaches its service at most once per HTTP request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
from google.api import annotations_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

# A proto service and the address ("host:port") of the server that serves it.
Upstream = tuple[ServiceDescriptor, str]
RpcCallable = grpc.aio.UnaryUnaryMultiCallable | grpc.aio.UnaryStreamMultiCallable

KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),  # the services accept pings this often
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
]
RETRY_POLICY = {
    "maxAttempts": 3,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
# Retries stop while more than half the recent calls to a target failed (gRFC A6).
RETRY_THROTTLING = {"maxTokens": 10, "tokenRatio": 0.1}


def is_read_only(method: MethodDescriptor) -> bool:
    """Whether every HTTP binding of `method` is a GET, so that calling it twice is harmless."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return False
    rule = options.Extensions[annotations_pb2.http]
    return all(r.WhichOneof("pattern") == "get" for r in (rule, *rule.additional_bindings))


def service_config(services: Iterable[ServiceDescriptor]) -> dict[str, Any]:
    """The channel's service config: the retry policy on the read-only methods of `services`."""
    names = [
        {"service": service.full_name, "method": method.name}
        for service in services
        for method in service.methods
        if is_read_only(method)
    ]
    config: dict[str, Any] = {"retryThrottling": RETRY_THROTTLING}
    if names:
        config["methodConfig"] = [{"name": names, "retryPolicy": RETRY_POLICY}]
    return config


class Upstreams:
    """The channels to `upstreams`; services at the same target share one channel."""

    def __init__(self, upstreams: Sequence[Upstream]) -> None:
        self._targets = {service.full_name: target for service, target in upstreams}
        by_target: dict[str, list[ServiceDescriptor]] = {}
        for service, target in upstreams:
            by_target.setdefault(target, []).append(service)
        self._channels = {
            target: grpc.aio.insecure_channel(
                target,
                options=[
                    *KEEPALIVE_OPTIONS,
                    ("grpc.enable_retries", 1),
                    ("grpc.service_config", json.dumps(service_config(services))),
                ],
            )
            for target, services in by_target.items()
        }

    def callable_for(self, method: MethodDescriptor) -> tuple[type[Message], RpcCallable]:
        """The request class and the callable of `method` (unary or server-streaming)."""
        channel = self._channels[self._targets[method.containing_service.full_name]]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        kind = channel.unary_stream if method.server_streaming else channel.unary_unary
        call = kind(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        return request_class, call

    async def health(self) -> dict[str, str]:
        """Each upstream service's health status name (UNAVAILABLE when it does not answer)."""

        async def check(service: str) -> str:
            channel = self._channels[self._targets[service]]
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
