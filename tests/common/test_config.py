from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from services.common.checks import split_list
from services.common.config import ConfigError, load_config


def _load(tmp_path: Path, toml: str = "", **env: str):
    path = tmp_path / "joist.toml"
    path.write_text(toml)
    return load_config({"JOIST_CONFIG": str(path), **env})


def test_defaults_are_safe_for_a_laptop(tmp_path: Path):
    config = _load(tmp_path)
    assert config.records.database_url == "sqlite:///var/records.db"
    assert config.gateway.http_listen == "127.0.0.1:8080"
    assert [r.name for r in config.notifier.rules] == ["contact-message-to-admin"]


def test_default_ports_lie_below_the_ephemeral_range(tmp_path: Path):
    """Linux hands ports 32768-60999 to outgoing connections, so a default listen port among
    them can be held by some client's socket when `make run` starts its services."""
    config = _load(tmp_path)
    sections = [config.gateway, config.records, config.notifier, config.scheduler]
    addresses = [
        getattr(section, spec.name)
        for section in sections
        for spec in dataclasses.fields(section)
        if spec.name.endswith(("_listen", "_target"))
    ]
    assert len(addresses) == 8
    for address in addresses:
        assert int(address.rpartition(":")[2]) < 32768, address


def test_environment_overrides_the_file(tmp_path: Path):
    config = _load(
        tmp_path,
        '[records]\ndatabase_url = "sqlite:///a.db"\n[gateway]\nmax_body_bytes = 10\n',
        JOIST_RECORDS_DATABASE_URL="postgresql://db/joist",
        JOIST_NOTIFIER_SMTP_PORT="2525",
    )
    assert config.records.database_url == "postgresql://db/joist"
    assert config.gateway.max_body_bytes == 10
    assert config.notifier.smtp_port == 2525


def test_rules_and_jobs_come_from_the_file(tmp_path: Path):
    config = _load(
        tmp_path,
        """
[[notifier.rules]]
name = "welcome"
event = "records.users.created"
template = "welcome"
to = "{{ record.data.email }}"

[[scheduler.jobs]]
name = "daily-report"
every = "1d"
at = "07:30"
""",
    )
    assert config.notifier.rules[0].event == "records.users.created"
    assert config.scheduler.jobs[0].at == "07:30"


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("", {"JOIST_NOTIFIER_SMTP_PORT": "abc"}, "JOIST_NOTIFIER_SMTP_PORT"),
        ("", {"JOIST_GATEWAY_HTTP_LISTEN": "8080"}, "gateway.http_listen"),
        ("", {"JOIST_RECORDS_DATABASE_URL": "mysql://x"}, "records.database_url"),
        ("", {"JOIST_NATS_URL": "localhost:4222"}, "nats.url"),
        ("[records]\nworkers = 3\n", {}, "records.workers"),
        ("[recrods]\n", {}, "recrods"),
        ('[gateway]\nmax_body_bytes = "big"\n', {}, "gateway.max_body_bytes"),
        ("[gateway]\nmax_body_bytes = 0\n", {}, "gateway.max_body_bytes"),
        ('[notifier]\nemail_provider = "carrier-pigeon"\n', {}, "notifier.email_provider"),
        ('[[notifier.rules]]\nname = "x"\ntemplate = "t"\n', {}, "notifier.rules[0].event"),
        ('[[scheduler.jobs]]\nname = "a"\nevery = "5 minutes"\n', {}, "scheduler.jobs[0].every"),
        (
            '[[scheduler.jobs]]\nname = "a"\n[[scheduler.jobs]]\nname = "a"\n',
            {},
            "scheduler.jobs[1].name",
        ),
        ('[log]\nlevel = "LOUD"\n', {}, "log.level"),
        ("", {"JOIST_GATEWAY_CORS_ORIGINS": "https://a.example/app"}, "gateway.cors_origins"),
        ("", {"JOIST_GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, ingress"}, "gateway.trusted_proxies"),
        ("", {"JOIST_GATEWAY_ANONYMOUS_WRITE_RATE": "-1"}, "gateway.anonymous_write_rate"),
        ("not toml = = 1", {}, "JOIST_CONFIG"),
    ],
)
def test_a_bad_value_names_the_setting(tmp_path: Path, toml: str, env: dict, named: str):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        _load(tmp_path, toml, **env)


def test_gateway_lists_are_comma_separated(tmp_path: Path):
    config = _load(
        tmp_path,
        "",
        JOIST_GATEWAY_CORS_ORIGINS="https://app.example.com, http://localhost:5173",
        JOIST_GATEWAY_TRUSTED_PROXIES="10.0.0.0/8,::1,*",
    )
    assert split_list(config.gateway.cors_origins) == [
        "https://app.example.com",
        "http://localhost:5173",
    ]
    assert split_list(config.gateway.trusted_proxies) == ["10.0.0.0/8", "::1", "*"]


def test_missing_config_file_is_named():
    with pytest.raises(ConfigError, match="JOIST_CONFIG"):
        load_config({"JOIST_CONFIG": "/nonexistent/joist.toml"})


def test_the_shipped_joist_toml_loads():
    config = load_config({"JOIST_CONFIG": str(Path(__file__).resolve().parents[2] / "joist.toml")})
    assert config.notifier.rules[0].template == "contact_message"


def test_auth_defaults_and_overrides(tmp_path: Path):
    auth = _load(tmp_path).auth
    assert (auth.public_key_file, auth.private_key_file) == (
        "var/keys/auth-public.pem",
        "var/keys/auth-private.pem",
    )
    assert (auth.access_token_ttl, auth.refresh_token_ttl) == (900, 30 * 86400)
    assert (auth.password_time_cost, auth.password_memory_kib, auth.password_parallelism) == (
        2,
        19456,
        1,
    )
    assert auth.signup_enabled and auth.login_attempts_per_minute == 10
    changed = _load(
        tmp_path,
        "[auth]\npassword_memory_kib = 65536\n",
        JOIST_AUTH_SIGNUP_ENABLED="false",
        JOIST_AUTH_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----",
    ).auth
    assert changed.password_memory_kib == 65536
    assert not changed.signup_enabled
    assert changed.public_key.startswith("-----BEGIN")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JOIST_AUTH_PASSWORD_TIME_COST", "0"),
        ("JOIST_AUTH_ACCESS_TOKEN_TTL", "-1"),
        ("JOIST_AUTH_ISSUER", ""),
        ("JOIST_AUTH_SIGNUP_ENABLED", "maybe"),
    ],
)
def test_bad_auth_settings_are_named(tmp_path: Path, name: str, value: str):
    setting = name.removeprefix("JOIST_AUTH_").lower()
    with pytest.raises(ConfigError, match=rf"(auth\.{setting}|{name}):"):
        _load(tmp_path, **{name: value})
