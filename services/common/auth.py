"""Who is calling, and may they call this method: the authenticating server interceptor.

Every call may carry `authorization: Bearer <access token>` metadata (the gateway forwards the
HTTP header as is). `AuthInterceptor` verifies the token once per call and makes the caller
available to the servicer through `current_caller()`:

- no `authorization` metadata: the caller is `ANONYMOUS`;
- any other scheme, a malformed value, or a token that fails verification: UNAUTHENTICATED,
  never a silent fall back to anonymous; so is a valid token whose claims `is_active` rejects
  (records: the user still exists and is not disabled; it sees service tokens' claims too).

Then the method's `Access` decides, from `policies` keyed by full method name
(`/joist.v1.JobsService/RunJob`; `method_policies` builds them from a service's descriptor):

    PUBLIC            anyone
    AUTHENTICATED     any signed-in caller
    ADMIN             role admin
    ADMIN_OR_SERVICE  role admin or service (internal callers' service tokens)
    RULES             anyone; the servicer decides (records' per-collection rules)

A caller who is not signed in gets UNAUTHENTICATED where sign-in is needed, a signed-in one
lacking the role PERMISSION_DENIED. A method without a policy is denied to everyone (closed by
default), except gRPC's health and reflection, which are public. Errors are `JoistError`s:
`server.ServiceRuntime` places this interceptor inside its `StatusInterceptor`, which maps them
to `google.rpc.Status` like every other error.
"""

from __future__ import annotations

import contextvars
import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc

from services.common.errors import PermissionDenied, Unauthenticated
from services.common.interceptors import Behavior, WrappingInterceptor
from services.common.tokens import Claims, TokenVerifier

ADMIN, USER, SERVICE = "admin", "user", "service"

# RFC 6750: the scheme (any case), spaces, then a b64token.
_BEARER = re.compile(r"bearer +([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)


@dataclass(frozen=True)
class Caller:
    """The subject and roles of a verified token, or nobody (`ANONYMOUS`)."""

    subject: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def authenticated(self) -> bool:
        return bool(self.subject)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_service(self) -> bool:
        return SERVICE in self.roles


ANONYMOUS = Caller()

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("joist_caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the RPC being served (each call runs in its own task and context)."""
    return _caller.get()


class Access(enum.Enum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    ADMIN = "admin"
    ADMIN_OR_SERVICE = "admin_or_service"
    RULES = "rules"


# Roles of which a caller needs one; an empty set: any signed-in caller; None: anyone.
_NEEDED_ROLES: dict[Access, frozenset[str] | None] = {
    Access.PUBLIC: None,
    Access.RULES: None,
    Access.AUTHENTICATED: frozenset(),
    Access.ADMIN: frozenset({ADMIN}),
    Access.ADMIN_OR_SERVICE: frozenset({ADMIN, SERVICE}),
}


def method_policies(
    module: ModuleType, service: str, default: Access | None = None, **by_method: Access
) -> dict[str, Access]:
    """Policies for `service` of the generated `module` (e.g. jobs_pb2): each method gets its
    entry in `by_method`, else `default`; a method with neither is left out (denied). Naming a
    method the service does not have raises ValueError."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    names = {method.name for method in descriptor.methods}
    unknown = sorted(set(by_method) - names)
    if unknown:
        raise ValueError(f"{descriptor.full_name} has no method {unknown[0]}")
    policies = {}
    for name in names:
        access = by_method.get(name, default)
        if access is not None:
            policies[f"/{descriptor.full_name}/{name}"] = access
    return policies


class AuthInterceptor(WrappingInterceptor):
    """Authenticates every call and enforces each method's `Access` (module docstring)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        policies: Mapping[str, Access],
        is_active: Callable[[Claims], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__()
        self._verifier = verifier
        self._policies = dict(policies)
        self._is_active = is_active

    def policy(self, method: str) -> Access | None:
        """The access of `method` (`/package.Service/Method`), None when it has no policy."""
        return self._policies.get(method)

    def wrap(self, method: str, behavior: Behavior) -> Behavior:
        access = self._policies.get(method)
        needed = None if access is None else _NEEDED_ROLES[access]
        authenticate = self._authenticate

        async def authorized(request: Any, context: grpc.aio.ServicerContext) -> Any:
            caller = await authenticate(context.invocation_metadata())
            _caller.set(caller)  # before the checks, so that the access log names who was denied
            if access is None:
                raise PermissionDenied(f"{method} has no access policy, so no one may call it")
            if needed is not None:
                if not caller.authenticated:
                    raise Unauthenticated("sign in first: this method needs an access token")
                if needed and needed.isdisjoint(caller.roles):
                    raise PermissionDenied(f"{method} needs the role {' or '.join(sorted(needed))}")
            return await behavior(request, context)

        return authorized

    async def _authenticate(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Caller:
        for key, value in metadata or ():
            if key == "authorization":
                return await self._caller_of(value)
        return ANONYMOUS

    async def _caller_of(self, authorization: str | bytes) -> Caller:
        bearer = _BEARER.fullmatch(authorization) if isinstance(authorization, str) else None
        if bearer is None:
            raise Unauthenticated("the authorization metadata must be `Bearer <access token>`")
        claims = self._verifier.verify(bearer.group(1))
        if self._is_active is not None and not await self._is_active(claims):
            raise Unauthenticated("the account of this access token is disabled or gone")
        return Caller(claims.subject, claims.roles)
