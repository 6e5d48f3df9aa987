"""The base of Joist's server interceptors: wrap each method's behavior once, reuse it per call.

A subclass implements `wrap(method, behavior)`, where `behavior` is always a coroutine function
`(request, context) -> response` (for request streams, `request` is the request iterator; a
response stream written with `await context.write(...)` returns None): an async-generator
behavior is turned into one that writes what it yields, so one wrapper serves every kind of
RPC. The wrapped handler is kept per method, so a call costs a dictionary look-up, not a new
closure and handler. gRPC's own health and reflection services pass through untouched.
Servicers are async (grpc.aio); a blocking behavior is refused when its method is first called.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]

INFRASTRUCTURE = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def is_infrastructure(method: str) -> bool:
    """gRPC's health and reflection methods, which every server offers to anyone."""
    return method.startswith(INFRASTRUCTURE)


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """Serves each method with `wrap(method, behavior)`, built on the method's first call."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if handler is None or is_infrastructure(method):
            return handler
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = _rebuild(handler, self.wrap(method, _as_coroutine(method, handler)))
        self._wrapped[method] = (handler, wrapped)
        return wrapped


def _as_coroutine(method: str, handler: grpc.RpcMethodHandler) -> Behavior:
    behavior = (
        handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
    )
    if inspect.iscoroutinefunction(behavior):
        return behavior
    if handler.response_streaming and inspect.isasyncgenfunction(behavior):

        async def writing(request: Any, context: grpc.aio.ServicerContext) -> None:
            async for response in behavior(request, context):
                await context.write(response)

        return writing
    raise TypeError(f"{method}: Joist servicers must be async (coroutines or async generators)")


_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def _rebuild(handler: grpc.RpcMethodHandler, behavior: Behavior) -> grpc.RpcMethodHandler:
    factory = _FACTORIES[(handler.request_streaming, handler.response_streaming)]
    return factory(
        behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
