"""Configuration: `joist.toml` plus `JOIST_*` environment overrides, read once into frozen
dataclasses.

Every setting lives at `<section>.<name>` in the TOML file and may be overridden by the
environment variable `JOIST_<SECTION>_<NAME>` (e.g. `records.database_url` by
`JOIST_RECORDS_DATABASE_URL`); lists of tables (rules, jobs) come from the file only. The file
is `$JOIST_CONFIG`, else `./joist.toml` when present, else none (defaults only). A missing,
unknown or malformed value raises `ConfigError` naming the setting, so a service stops at start.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.checks import (
    Check,
    address,
    clock_time,
    duration,
    networks,
    non_empty,
    non_negative,
    one_of,
    origins,
    positive,
    url_scheme,
)


class ConfigError(ValueError):
    """A setting is missing, unknown or malformed; the message names it."""


def setting(default: Any, *checks: Check) -> Any:
    """A dataclass field with a default and checks that return an error text or None."""
    return field(default=default, metadata={"checks": checks})


@dataclass(frozen=True)
class LogConfig:
    level: str = setting("INFO", one_of("DEBUG", "INFO", "WARNING", "ERROR"))


@dataclass(frozen=True)
class NatsConfig:
    url: str = setting("nats://127.0.0.1:4222", url_scheme("nats", "tls"))
    connect_timeout: float = setting(2.0, positive)
    request_timeout: float = setting(5.0, positive)
    stream_replicas: int = setting(1, one_of(1, 3, 5))
    stream_max_age_days: int = setting(7, positive)
    duplicate_window: float = setting(120.0, positive)


@dataclass(frozen=True)
class GatewayConfig:
    http_listen: str = setting("127.0.0.1:8080", address)
    grpc_listen: str = setting("127.0.0.1:7050", address)
    records_target: str = setting("127.0.0.1:7051", address)
    notifier_target: str = setting("127.0.0.1:7052", address)
    scheduler_target: str = setting("127.0.0.1:7053", address)
    max_body_bytes: int = setting(1024 * 1024, positive)
    upstream_timeout: float = setting(10.0, positive)
    stream_timeout: float = setting(300.0, positive)
    max_in_flight: int = setting(512, positive)
    anonymous_write_rate: float = setting(10.0, non_negative)
    anonymous_write_burst: int = setting(20, positive)
    cors_origins: str = setting("", origins)
    trusted_proxies: str = setting("127.0.0.1", networks)


@dataclass(frozen=True)
class RecordsConfig:
    grpc_listen: str = setting("127.0.0.1:7051", address)
    database_url: str = setting("sqlite:///var/records.db", url_scheme("sqlite", "postgresql"))
    db_workers: int = setting(8, positive)
    relay_poll_interval: float = setting(1.0, positive)
    relay_batch_size: int = setting(256, positive)


@dataclass(frozen=True)
class RuleConfig:
    """On an event whose subject (after `joist.events.`) matches `event`, send `template`."""

    name: str = setting("", non_empty)
    event: str = setting("", non_empty)
    template: str = setting("", non_empty)
    to: str = setting("{{ admin_email }}")
    channel: str = setting("email", one_of("email"))
    provider: str = setting("", one_of("", "console", "smtp"))


CONTACT_RULE = RuleConfig(
    name="contact-message-to-admin",
    event="records.contact_messages.created",
    template="contact_message",
)


@dataclass(frozen=True)
class NotifierConfig:
    grpc_listen: str = setting("127.0.0.1:7052", address)
    database_url: str = setting("sqlite:///var/notifier.db", url_scheme("sqlite", "postgresql"))
    db_workers: int = setting(8, positive)
    admin_email: str = setting("admin@localhost")
    email_from: str = setting("Joist <noreply@localhost>")
    email_provider: str = setting("console", one_of("console", "smtp"))
    console_path: str = setting("var/outbox/mail.log")
    templates_dir: str = setting("")
    smtp_host: str = setting("127.0.0.1")
    smtp_port: int = setting(25, positive)
    smtp_username: str = setting("")
    smtp_password: str = setting("")
    smtp_security: str = setting("none", one_of("none", "starttls", "tls"))
    smtp_timeout: float = setting(10.0, positive)
    max_attempts: int = setting(8, positive)
    retry_base_delay: float = setting(2.0, positive)
    retry_max_delay: float = setting(600.0, positive)
    concurrency: int = setting(16, positive)
    relay_poll_interval: float = setting(1.0, positive)
    relay_batch_size: int = setting(256, positive)
    rules: tuple[RuleConfig, ...] = setting((CONTACT_RULE,))


@dataclass(frozen=True)
class JobConfig:
    """A periodic job; `every` is a duration ("30s", "5m", "1h", "1d"), `at` a daily "HH:MM"."""

    name: str = setting(
        "",
        lambda v: (
            None
            if re.fullmatch(r"[a-z0-9_-]+", v)
            else "must be lowercase letters, digits, '_' or '-'"
        ),
    )
    every: str = setting("1d", duration)
    at: str = setting("", clock_time)


@dataclass(frozen=True)
class SchedulerConfig:
    grpc_listen: str = setting("127.0.0.1:7053", address)
    heartbeat_every: str = setting("60s", duration)
    jobs: tuple[JobConfig, ...] = setting(())


@dataclass(frozen=True)
class AuthConfig:
    """Token keys and lifetimes, and the users' password hashing and sign-in limits. A key is
    PEM from `public_key`/`private_key` (environment) when set, else from its file."""

    public_key_file: str = setting("var/keys/auth-public.pem")
    public_key: str = setting("")
    private_key_file: str = setting("var/keys/auth-private.pem")
    private_key: str = setting("")
    issuer: str = setting("joist", non_empty)
    audience: str = setting("joist", non_empty)
    access_token_ttl: int = setting(900, positive)
    refresh_token_ttl: int = setting(30 * 86400, positive)
    signup_enabled: bool = setting(True)
    password_time_cost: int = setting(2, positive)
    password_memory_kib: int = setting(19456, positive)
    password_parallelism: int = setting(1, positive)
    login_attempts_per_minute: int = setting(10, positive)


@dataclass(frozen=True)
class Config:
    log: LogConfig = field(default_factory=LogConfig)
    nats: NatsConfig = field(default_factory=NatsConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    records: RecordsConfig = field(default_factory=RecordsConfig)
    notifier: NotifierConfig = field(default_factory=NotifierConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Reads the TOML file and the environment; raises ConfigError naming a bad setting."""
    env = os.environ if environ is None else environ
    path = env.get("JOIST_CONFIG") or ("joist.toml" if Path("joist.toml").is_file() else "")
    table: dict[str, Any] = {}
    if path:
        try:
            table = tomllib.loads(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"JOIST_CONFIG: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"JOIST_CONFIG: {path} is not valid TOML: {exc}") from exc
    return _build(Config, table, "", env)


def _build(cls: type, table: Any, prefix: str, env: Mapping[str, str] | None) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix.rstrip('.')}: must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown setting")
    values = {}
    for name, spec in fields.items():
        key = f"{prefix}{name}"
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, table.get(name, {}), f"{key}.", env)
            continue
        if typing.get_origin(kind) is tuple:
            if name in table:
                values[name] = _build_list(typing.get_args(kind)[0], table[name], key)
            continue
        env_name = "JOIST_" + key.upper().replace(".", "_")
        if env is not None and env_name in env:
            value = _from_text(kind, env[env_name], env_name)
        elif name in table:
            value = _from_toml(kind, table[name], key)
        else:
            value = spec.default
        for check in spec.metadata.get("checks", ()):
            problem = check(value)
            if problem:
                raise ConfigError(f"{key}: {problem} (got {value!r})")
        values[name] = value
    return cls(**values)


def _build_list(item_cls: type, items: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{key}: must be an array of tables ([[{key}]])")
    built = tuple(_build(item_cls, item, f"{key}[{i}].", None) for i, item in enumerate(items))
    names = [item.name for item in built]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{key}[{i}].name: {name!r} is already used by another entry")
    return built


def _from_text(kind: type, text: str, name: str) -> Any:
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(text)
            return lowered in {"1", "true", "yes"}
        return kind(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected {kind.__name__}, got {text!r}") from exc


def _from_toml(kind: type, value: Any, key: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not kind:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {value!r}")
    return value
