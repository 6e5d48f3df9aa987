"""AuthInterceptor in a real ServiceRuntime (grpc.aio server on a free port) with real keys and a
real client: each kind of caller against each Access, bad credentials, inactive accounts, and
server streams."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from joist.v1 import jobs_pb2, jobs_pb2_grpc, notifications_pb2, notifications_pb2_grpc
from services.cli.processes import free_port
from services.common.auth import (
    ADMIN,
    SERVICE,
    USER,
    Access,
    AuthInterceptor,
    current_caller,
    method_policies,
)
from services.common.errors import NotFound
from services.common.server import ServiceRuntime
from services.common.tokens import Claims, TokenIssuer, TokenVerifier, generate_key_pair

OK = grpc.StatusCode.OK
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED
PROBE = "joist.test.Probe"


def who() -> str:
    caller = current_caller()
    return f"{caller.subject or 'anonymous'}:{','.join(sorted(caller.roles))}"


class Jobs(jobs_pb2_grpc.JobsServiceServicer):
    async def ListJobs(self, request: Any, context: Any) -> jobs_pb2.ListJobsResponse:
        return jobs_pb2.ListJobsResponse(jobs=[jobs_pb2.Job(name="ListJobs", subject=who())])

    async def GetJob(self, request: Any, context: Any) -> jobs_pb2.Job:
        return jobs_pb2.Job(name="GetJob", subject=who())

    async def RunJob(self, request: Any, context: Any) -> jobs_pb2.Job:
        return jobs_pb2.Job(name="RunJob", subject=who())


class Notifications(notifications_pb2_grpc.NotificationsServiceServicer):
    async def GetNotification(self, request: Any, context: Any) -> notifications_pb2.Notification:
        return notifications_pb2.Notification(id="GetNotification", recipient=who())

    async def ListNotifications(
        self, request: Any, context: Any
    ) -> notifications_pb2.ListNotificationsResponse:
        return notifications_pb2.ListNotificationsResponse(next_page_token=who())

    async def RetryNotification(self, request: Any, context: Any) -> Any:
        raise AssertionError("RetryNotification has no policy: it must never run")


async def generate(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """A server stream as an async generator; b"fail" ends it with NOT_FOUND after one item."""
    yield who().encode()
    if request == b"fail":
        raise NotFound("no second item")
    yield b"done"


async def write(request: bytes, context: grpc.aio.ServicerContext) -> None:
    """A server stream written with context.write."""
    await context.write(who().encode())


POLICIES = {
    **method_policies(
        jobs_pb2,
        "JobsService",
        ListJobs=Access.PUBLIC,
        GetJob=Access.AUTHENTICATED,
        RunJob=Access.ADMIN,
    ),
    **method_policies(
        notifications_pb2,
        "NotificationsService",
        GetNotification=Access.ADMIN_OR_SERVICE,
        ListNotifications=Access.RULES,
    ),
    f"/{PROBE}/Generate": Access.AUTHENTICATED,
    f"/{PROBE}/Write": Access.RULES,
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture(scope="module")
def issuer(keys: tuple[Path, Path]) -> TokenIssuer:
    return TokenIssuer(keys[0].read_bytes(), "joist", "joist", timedelta(minutes=5))


@pytest.fixture
async def channel(keys: tuple[Path, Path]) -> AsyncIterator[grpc.aio.Channel]:
    checked: list[Claims] = []

    async def is_active(claims: Claims) -> bool:
        checked.append(claims)
        return claims.subject != "gone"

    verifier = TokenVerifier(keys[1].read_bytes(), "joist", "joist")
    listen = f"127.0.0.1:{free_port()}"
    runtime = ServiceRuntime(
        "test", listen, grace=0.5, auth=AuthInterceptor(verifier, POLICIES, is_active)
    )
    runtime.add_service(
        jobs_pb2, "JobsService", jobs_pb2_grpc.add_JobsServiceServicer_to_server, Jobs()
    )
    runtime.add_service(
        notifications_pb2,
        "NotificationsService",
        notifications_pb2_grpc.add_NotificationsServiceServicer_to_server,
        Notifications(),
    )
    probe = grpc.method_handlers_generic_handler(
        PROBE,
        {
            "Generate": grpc.unary_stream_rpc_method_handler(generate),
            "Write": grpc.unary_stream_rpc_method_handler(write),
        },
    )
    runtime.server.add_generic_rpc_handlers((probe,))
    serving = asyncio.create_task(runtime.run())
    async with grpc.aio.insecure_channel(listen) as client:
        await asyncio.wait_for(client.channel_ready(), 10)
        client.checked = checked  # type: ignore[attr-defined]
        yield client
    runtime.stop()
    await serving


def bearer(issuer: TokenIssuer, subject: str, *roles: str) -> tuple[tuple[str, str], ...]:
    token, _ = issuer.issue(subject, roles)
    return (("authorization", f"Bearer {token}"),)


CALLERS = {
    "anonymous": None,
    "user": ("user-1", USER),
    "admin": ("admin-1", ADMIN, USER),
    "service": ("service:reports", SERVICE),
}

# method → expected code per caller (anonymous, user, admin, service)
EXPECTED = {
    "ListJobs": (OK, OK, OK, OK),  # PUBLIC
    "GetJob": (UNAUTHENTICATED, OK, OK, OK),  # AUTHENTICATED
    "RunJob": (UNAUTHENTICATED, DENIED, OK, DENIED),  # ADMIN
    "GetNotification": (UNAUTHENTICATED, DENIED, OK, OK),  # ADMIN_OR_SERVICE
    "ListNotifications": (OK, OK, OK, OK),  # RULES: the servicer decides
    "RetryNotification": (DENIED, DENIED, DENIED, DENIED),  # no policy: closed
}


async def call(channel: grpc.aio.Channel, method: str, metadata: Any = None) -> Any:
    """Calls `method` of JobsService or NotificationsService with an empty request."""
    pb2, stub = (
        (jobs_pb2, jobs_pb2_grpc.JobsServiceStub(channel))
        if "Job" in method
        else (notifications_pb2, notifications_pb2_grpc.NotificationsServiceStub(channel))
    )
    request = getattr(pb2, f"{method}Request")()
    return await getattr(stub, method)(request, metadata=metadata, timeout=5)


def identity(method: str, reply: Any) -> str:
    if method == "ListJobs":
        return reply.jobs[0].subject
    if method == "ListNotifications":
        return reply.next_page_token
    return reply.subject if "Job" in method else reply.recipient


@pytest.mark.parametrize("method", EXPECTED)
async def test_each_caller_against_each_access(
    channel: grpc.aio.Channel, issuer: TokenIssuer, method: str
):
    for (name, caller), expected in zip(CALLERS.items(), EXPECTED[method], strict=True):
        metadata = bearer(issuer, caller[0], *caller[1:]) if caller else None
        if expected is OK:
            reply = await call(channel, method, metadata)
            subject, roles = (caller[0], sorted(caller[1:])) if caller else ("anonymous", [])
            assert identity(method, reply) == f"{subject}:{','.join(roles)}", name
            continue
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(channel, method, metadata)
        assert refused.value.code() == expected, (method, name)
        status = rpc_status.from_call(refused.value)  # a google.rpc.Status, like every error
        assert status is not None and status.message == refused.value.details()
        trailers = dict(refused.value.trailing_metadata())
        assert (trailers.get("www-authenticate") == "Bearer") is (expected is UNAUTHENTICATED)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Token abc.def.ghi",
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbi0xIn0.",
    ],
)
async def test_bad_credentials_are_never_anonymous(channel: grpc.aio.Channel, authorization: str):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(channel, "ListJobs", (("authorization", authorization),))  # a PUBLIC method
    assert refused.value.code() == UNAUTHENTICATED


async def test_tokens_from_another_key_or_expired_are_refused(
    channel: grpc.aio.Channel, keys: tuple[Path, Path], tmp_path: Path
):
    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub")
    stranger = TokenIssuer((tmp_path / "other.pem").read_bytes(), "joist", "joist", timedelta(1))
    past = int(time.time()) - 3600
    claims = {"sub": "admin-1", "roles": [ADMIN], "iss": "joist", "aud": "joist"}
    expired = jwt.encode({**claims, "iat": past, "exp": past + 60}, keys[0].read_bytes(), "EdDSA")
    for metadata in (bearer(stranger, "admin-1", ADMIN), (("authorization", f"Bearer {expired}"),)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(channel, "ListJobs", metadata)
        assert refused.value.code() == UNAUTHENTICATED


async def test_the_scheme_is_case_insensitive(channel: grpc.aio.Channel, issuer: TokenIssuer):
    token, _ = issuer.issue("user-1", [USER])
    reply = await call(channel, "GetJob", (("authorization", f"bearer {token}"),))
    assert reply.subject == "user-1:user"


async def test_an_inactive_account_is_unauthenticated(
    channel: grpc.aio.Channel, issuer: TokenIssuer
):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(channel, "ListJobs", bearer(issuer, "gone", ADMIN))
    assert refused.value.code() == UNAUTHENTICATED
    assert [c.subject for c in channel.checked] == ["gone"]  # type: ignore[attr-defined]
    await call(channel, "GetJob", bearer(issuer, "user-1", USER))
    assert [c.subject for c in channel.checked] == ["gone", "user-1"]  # type: ignore[attr-defined]


async def test_server_streams_are_guarded(channel: grpc.aio.Channel, issuer: TokenIssuer):
    generate_stream = channel.unary_stream(f"/{PROBE}/Generate")
    write_stream = channel.unary_stream(f"/{PROBE}/Write")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        [item async for item in generate_stream(b"", timeout=5)]
    assert refused.value.code() == UNAUTHENTICATED
    user = bearer(issuer, "user-1", USER)
    assert [item async for item in generate_stream(b"", metadata=user, timeout=5)] == [
        b"user-1:user",
        b"done",
    ]
    items = []
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        async for item in generate_stream(b"fail", metadata=user, timeout=5):
            items.append(item)
    assert items == [b"user-1:user"]
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND  # mapped like unary errors
    assert rpc_status.from_call(failed.value).message == "no second item"
    assert [item async for item in write_stream(b"", timeout=5)] == [b"anonymous:"]


async def test_health_needs_no_token(channel: grpc.aio.Channel):
    health = health_pb2_grpc.HealthStub(channel)
    for metadata in (None, (("authorization", "Bearer junk"),)):
        reply = await health.Check(health_pb2.HealthCheckRequest(), metadata=metadata, timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_method_policies_name_real_methods():
    policies = method_policies(jobs_pb2, "JobsService", Access.ADMIN, ListJobs=Access.PUBLIC)
    assert policies == {
        "/joist.v1.JobsService/ListJobs": Access.PUBLIC,
        "/joist.v1.JobsService/GetJob": Access.ADMIN,
        "/joist.v1.JobsService/RunJob": Access.ADMIN,
    }
    assert method_policies(jobs_pb2, "JobsService", RunJob=Access.ADMIN) == {
        "/joist.v1.JobsService/RunJob": Access.ADMIN
    }
    with pytest.raises(ValueError, match="no method DeleteJob"):
        method_policies(jobs_pb2, "JobsService", DeleteJob=Access.ADMIN)


async def test_the_access_log_names_the_caller(
    channel: grpc.aio.Channel, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="services.common.server")
    await call(channel, "GetJob", bearer(issuer, "user-1", USER))
    with pytest.raises(grpc.aio.AioRpcError):
        await call(channel, "RunJob", bearer(issuer, "user-1", USER))
    lines = [r.fields for r in caplog.records if r.getMessage() == "rpc"]  # type: ignore[attr-defined]
    assert [(f["method"], f["code"], f["subject"]) for f in lines] == [
        ("/joist.v1.JobsService/GetJob", "OK", "user-1"),
        ("/joist.v1.JobsService/RunJob", "PERMISSION_DENIED", "user-1"),
    ]


async def test_a_method_without_a_policy_is_reported_at_start(
    keys: tuple[Path, Path], caplog: pytest.LogCaptureFixture
):
    verifier = TokenVerifier(keys[1].read_bytes(), "joist", "joist")
    runtime = ServiceRuntime("test", "127.0.0.1:1", auth=AuthInterceptor(verifier, POLICIES))
    runtime.add_service(
        notifications_pb2,
        "NotificationsService",
        notifications_pb2_grpc.add_NotificationsServiceServicer_to_server,
        Notifications(),
    )
    warned = [r.fields["method"] for r in caplog.records if r.levelno == logging.WARNING]  # type: ignore[attr-defined]
    assert warned == ["/joist.v1.NotificationsService/RetryNotification"]
