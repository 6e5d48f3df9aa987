"""Wiring of the records service: database, catalog, users and outbox, token issuer and
verifier, broker, gRPC server with its access policies."""

from __future__ import annotations

import time

from joist.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    collections_pb2,
    collections_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)
from services.common.auth import SERVICE, Access, AuthInterceptor, method_policies
from services.common.broker import Broker
from services.common.config import AuthConfig, Config
from services.common.database import DatabaseExecutor
from services.common.keys import stored_key
from services.common.pagination import PageTokens
from services.common.server import ServiceRuntime
from services.common.store import EventStore
from services.common.tokens import Claims, TokenIssuer, TokenVerifier
from services.records.auth_servicer import AuthServicer, LoginLimits
from services.records.catalog import Catalog
from services.records.collections_servicer import CollectionsServicer
from services.records.repository import RecordsRepository
from services.records.servicer import RecordsServicer
from services.records.users import Users

POLICIES = {
    **method_policies(records_pb2, "RecordsService", Access.RULES),
    **method_policies(collections_pb2, "CollectionsService", Access.ADMIN),
    **method_policies(
        auth_pb2,
        "AuthService",
        Access.PUBLIC,
        Me=Access.AUTHENTICATED,
        ChangePassword=Access.AUTHENTICATED,
    ),
}


ACTIVE_FOR = 2.0  # seconds a user found active is not looked up again


def build_auth(settings: AuthConfig, users: Users, executor: DatabaseExecutor) -> AuthInterceptor:
    """Tokens of users deleted or disabled since they were issued are refused (within
    ACTIVE_FOR seconds: an active user is remembered that long, to spare a query per call)."""
    active_until: dict[str, float] = {}

    async def is_active(claims: Claims) -> bool:
        if SERVICE in claims.roles:
            return True
        now = time.monotonic()
        if active_until.get(claims.subject, 0.0) > now:
            return True
        if not await executor.read(users.is_active, claims.subject):
            return False
        if len(active_until) > 100_000:
            active_until.clear()
        active_until[claims.subject] = now + ACTIVE_FOR
        return True

    return AuthInterceptor(TokenVerifier.from_config(settings), POLICIES, is_active)


async def serve(config: Config) -> None:
    settings = config.auth
    broker = Broker(config.nats, name="records")
    store = EventStore.open(config.records, broker, config.nats.request_timeout)
    users = Users.from_config(store.db, settings)
    catalog = Catalog(store.db, {"users": users.rows})
    await store.executor.run(catalog.bootstrap, store.outbox, users.tables())
    key = await store.executor.run(stored_key, store.db, "page_tokens")
    tokens = PageTokens(key)
    repository = RecordsRepository(store.db, catalog, store.outbox, tokens)
    auth = build_auth(settings, users, store.executor)
    runtime = ServiceRuntime("records", config.records.grpc_listen, auth=auth)
    runtime.add_service(
        records_pb2,
        "RecordsService",
        records_pb2_grpc.add_RecordsServiceServicer_to_server,
        RecordsServicer(repository, store.executor),
    )
    runtime.add_service(
        collections_pb2,
        "CollectionsService",
        collections_pb2_grpc.add_CollectionsServiceServicer_to_server,
        CollectionsServicer(catalog, store.executor, tokens),
    )
    runtime.add_service(
        auth_pb2,
        "AuthService",
        auth_pb2_grpc.add_AuthServiceServicer_to_server,
        AuthServicer(
            users,
            TokenIssuer.from_config(settings),
            store.executor,
            LoginLimits(settings.login_attempts_per_minute),
            settings.signup_enabled,
        ),
    )
    broker.attach(runtime)
    store.attach(runtime)
    await runtime.run()
