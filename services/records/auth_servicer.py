"""AuthService over gRPC: sign-up, login, token refresh and logout, the signed-in user, and
password changes.

Login attempts are limited per account and per client address (token buckets, per replica;
RESOURCE_EXHAUSTED with a retry delay past the limit). The client address is the one the
gateway forwards (`x-forwarded-for`), else the gRPC peer. Any caller could send that metadata:
on Kubernetes a NetworkPolicy (deploy/k8s/base/records.yaml) lets only the gateway connect.
"""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from joist.v1 import auth_pb2, auth_pb2_grpc
from services.common.auth import current_caller
from services.common.database import DatabaseExecutor
from services.common.errors import PermissionDenied, ResourceExhausted
from services.common.ratelimit import TokenBuckets, client_key
from services.common.timestamps import to_timestamp
from services.common.tokens import TokenIssuer
from services.records.users import User, Users


class LoginLimits:
    """`per_minute` attempts per account and per client address, with that many in a burst."""

    def __init__(self, per_minute: int) -> None:
        self._accounts = TokenBuckets(per_minute / 60, per_minute)
        self._addresses = TokenBuckets(per_minute / 60, per_minute)

    def check(self, email: str, address: str) -> None:
        wait = max(self._accounts.take(email.lower()), self._addresses.take(client_key(address)))
        if wait > 0:
            raise ResourceExhausted("too many login attempts; try again later", retry_after=wait)


def client_address(context: grpc.aio.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "x-forwarded-for" and isinstance(value, str):
            return value.split(",")[0].strip()
    peer = context.peer() or ""
    return peer.split(":", 1)[-1].rsplit(":", 1)[0].strip("[]")


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        users: Users,
        issuer: TokenIssuer,
        executor: DatabaseExecutor,
        limits: LoginLimits,
        signup_enabled: bool,
    ) -> None:
        self._users = users
        self._issuer = issuer
        self._executor = executor
        self._limits = limits
        self._signup_enabled = signup_enabled

    async def SignUp(
        self, request: auth_pb2.SignUpRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        if not self._signup_enabled:
            raise PermissionDenied("sign-up is turned off; ask an admin for an account")
        user = await self._executor.run(self._users.create, request.email, request.password)
        return to_proto(user)

    async def Login(
        self, request: auth_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Session:
        self._limits.check(request.email, client_address(context))
        user = await self._executor.run(self._users.authenticate, request.email, request.password)
        refresh = await self._executor.run(self._users.new_refresh_token, user.id)
        return self._session(user, refresh)

    async def Refresh(
        self, request: auth_pb2.RefreshRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.Session:
        user, refresh = await self._executor.run(self._users.rotate, request.refresh_token)
        return self._session(user, refresh)

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._executor.run(self._users.revoke, request.refresh_token)
        return empty_pb2.Empty()

    async def Me(
        self, request: auth_pb2.MeRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.User:
        return to_proto(await self._executor.read(self._users.get, current_caller().subject))

    async def ChangePassword(
        self, request: auth_pb2.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        caller = current_caller()
        self._limits.check(caller.subject, client_address(context))
        await self._executor.run(
            self._users.change_password,
            caller.subject,
            request.current_password,
            request.new_password,
        )
        return empty_pb2.Empty()

    def _session(self, user: User, refresh: str) -> auth_pb2.Session:
        access, expire_time = self._issuer.issue(user.id, user.roles)
        return auth_pb2.Session(
            access_token=access, refresh_token=refresh, expire_time=to_timestamp(expire_time)
        )


def to_proto(user: User) -> auth_pb2.User:
    return auth_pb2.User(
        id=user.id,
        email=user.email,
        roles=user.roles,
        disabled=user.disabled,
        create_time=to_timestamp(user.create_time),
        update_time=to_timestamp(user.update_time),
    )
