"""gRPC aio server bootstrap: health, reflection, authentication, error mapping, access logs,
graceful shutdown.

    auth = AuthInterceptor(TokenVerifier.from_config(config.auth),
                           method_policies(jobs_pb2, "JobsService", Access.ADMIN_OR_SERVICE))
    runtime = ServiceRuntime("scheduler", config.scheduler.grpc_listen, auth=auth)
    runtime.add_service(jobs_pb2, "JobsService", add_JobsServiceServicer_to_server, servicer)
    runtime.start_background(runner.run())
    runtime.on_shutdown(broker.close)
    await runtime.run()   # until SIGTERM/SIGINT

Interceptors, outermost first: `StatusInterceptor` (JoistError → google.rpc.Status, one access
log line per call), then the service's `AuthInterceptor` (services/common/auth.py), whose
UNAUTHENTICATED and PERMISSION_DENIED errors the first one maps like any other. Every method of
a service added to a runtime with `auth` needs a policy (one without is denied, and reported at
start); without `auth` every method is open to anyone (the gateway's health-only server).

On a signal: health goes NOT_SERVING, `on_stopping` hooks run, the server stops accepting calls
and lets running ones finish for `grace` seconds, background tasks are cancelled, then
`on_shutdown` hooks run in order.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from types import ModuleType
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.auth import AuthInterceptor, current_caller
from services.common.errors import JoistError, to_rpc_status
from services.common.interceptors import Behavior, WrappingInterceptor

log = logging.getLogger(__name__)

# Clients (the gateway) ping every 30 s to find dead connections; by default a server takes a
# ping without data in between as abuse past one per 5 minutes and closes long quiet streams.
SERVER_OPTIONS = [("grpc.http2.min_recv_ping_interval_without_data_ms", 20_000)]


class StatusInterceptor(WrappingInterceptor):
    """Maps JoistError to its gRPC status in one place, hides unexpected errors behind INTERNAL,
    and writes one access-log line per call (with the caller's subject when signed in)."""

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                return await behavior(request, context)
            except JoistError as error:
                code = error.code
                status = to_rpc_status(error)
                await context.abort(status.code, status.details, status.trailing_metadata)
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except grpc.aio.AbortError:  # the servicer aborted the call itself
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                if log.isEnabledFor(logging.INFO):
                    _access_log(method, code, started)

        return guarded


def _access_log(method: str, code: grpc.StatusCode, started: float) -> None:
    fields = {
        "method": method,
        "code": code.name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    caller = current_caller()
    if caller.authenticated:
        fields["subject"] = caller.subject
    log.info("rpc", extra={"fields": fields})


class ServiceRuntime:
    """One gRPC server with its health service, reflection and background tasks."""

    def __init__(
        self, name: str, listen: str, grace: float = 5.0, auth: AuthInterceptor | None = None
    ) -> None:
        self.name = name
        self.listen = listen
        self.grace = grace
        self.auth = auth
        interceptors = [StatusInterceptor()] if auth is None else [StatusInterceptor(), auth]
        self.server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
        self.health = health.aio.HealthServicer()
        self._services: list[str] = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        self._background: list[Coroutine[Any, Any, None]] = []
        self._shutdown_hooks: list[Callable[[], Awaitable[None] | None]] = []
        self._stopping_hooks: list[Callable[[], Awaitable[None]]] = []
        self._stopping = asyncio.Event()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)

    def add_service(
        self,
        module: ModuleType,
        service: str,
        register: Callable[[Any, grpc.aio.Server], None],
        servicer: Any,
    ) -> None:
        """Registers `servicer` for `service` of the generated `module` (e.g. records_pb2)."""
        register(servicer, self.server)
        descriptor = module.DESCRIPTOR.services_by_name[service]
        self._services.append(descriptor.full_name)
        if self.auth is None:
            return
        for method in descriptor.methods:
            path = f"/{descriptor.full_name}/{method.name}"
            if self.auth.policy(path) is None:
                log.warning(
                    "no access policy: every call is denied", extra={"fields": {"method": path}}
                )

    def start_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs `work` while the server runs; it is cancelled at shutdown."""
        self._background.append(work)

    def on_stopping(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Runs `hook` as soon as a stop is asked, before the gRPC server stops (front doors
        such as the gateway's HTTP server close here)."""
        self._stopping_hooks.append(hook)

    def on_shutdown(self, hook: Callable[[], Awaitable[None] | None]) -> None:
        """Runs `hook` (plain or async) after the server stopped, in registration order."""
        self._shutdown_hooks.append(hook)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        reflection.enable_server_reflection(self._services, self.server)
        if self.server.add_insecure_port(self.listen) == 0:
            raise OSError(f"{self.name}: cannot listen on {self.listen}")
        await self.server.start()
        for service in ["", *self._services]:
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        tasks = [asyncio.create_task(work) for work in self._background]
        for task in tasks:
            task.add_done_callback(self._on_background_done)
        log.info("serving", extra={"fields": {"listen": self.listen}})
        await self._stopping.wait()
        log.info("shutting down", extra={"fields": {"grace_s": self.grace}})
        await self.health.enter_graceful_shutdown()
        for stopping in self._stopping_hooks:
            await stopping()
        await self.server.stop(self.grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for hook in self._shutdown_hooks:
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("shutdown hook failed")
        log.info("stopped")

    def _on_background_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.error("background task failed; stopping", exc_info=task.exception())
        self.stop()
