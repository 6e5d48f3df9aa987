"""Wiring of the notifier: database, providers, rules, consumer, outbox relay, gRPC server
(every RPC for admins and service tokens)."""

from __future__ import annotations

from joist.v1 import notifications_pb2, notifications_pb2_grpc
from services.common.auth import Access, AuthInterceptor, method_policies
from services.common.broker import Broker
from services.common.config import Config, ConfigError, NotifierConfig
from services.common.server import ServiceRuntime
from services.common.store import EventStore
from services.common.tokens import TokenVerifier
from services.notifier.consumer import EventConsumer
from services.notifier.dispatcher import Dispatcher, Rule
from services.notifier.models import notification_model
from services.notifier.providers import EmailProvider
from services.notifier.providers.console import ConsoleProvider
from services.notifier.providers.smtp import SmtpProvider, SmtpSettings
from services.notifier.repository import NotificationsRepository
from services.notifier.servicer import NotificationsServicer
from services.notifier.templates import TemplateError


def build_providers(settings: NotifierConfig) -> dict[str, EmailProvider]:
    return {
        "console": ConsoleProvider(settings.console_path),
        "smtp": SmtpProvider(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                security=settings.smtp_security,
                username=settings.smtp_username,
                password=settings.smtp_password,
                timeout=settings.smtp_timeout,
            )
        ),
    }


def build_rules(settings: NotifierConfig, providers: dict[str, EmailProvider]) -> list[Rule]:
    """Compiles the configured rules; a bad one raises ConfigError naming it."""
    rules = []
    for i, rule in enumerate(settings.rules):
        try:
            rules.append(
                Rule.compile(rule, settings.templates_dir, providers, settings.email_provider)
            )
        except TemplateError as exc:
            raise ConfigError(f"notifier.rules[{i}].template: {exc}") from exc
    return rules


async def serve(config: Config) -> None:
    settings = config.notifier
    providers = build_providers(settings)
    rules = build_rules(settings, providers)
    auth = AuthInterceptor(
        TokenVerifier.from_config(config.auth),
        method_policies(notifications_pb2, "NotificationsService", Access.ADMIN_OR_SERVICE),
    )
    broker = Broker(config.nats, name="notifier")
    store = EventStore.open(settings, broker, config.nats.request_timeout)
    repository = NotificationsRepository(store.db, notification_model(store.db), store.outbox)
    await store.executor.run(repository.create_tables)
    dispatcher = Dispatcher(rules, providers, repository, store.executor, settings)
    consumer = EventConsumer(
        broker,
        dispatcher,
        settings.concurrency,
        ack_wait=max(30.0, settings.smtp_timeout * 3),
        max_deliveries=settings.max_attempts,
    )
    runtime = ServiceRuntime("notifier", settings.grpc_listen, auth=auth)
    runtime.add_service(
        notifications_pb2,
        "NotificationsService",
        notifications_pb2_grpc.add_NotificationsServiceServicer_to_server,
        NotificationsServicer(repository, store.executor),
    )
    broker.attach(runtime)
    store.attach(runtime)
    runtime.start_background(consumer.run())
    runtime.on_shutdown(dispatcher.close)
    await runtime.run()
