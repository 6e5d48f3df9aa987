from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import ConfigError, load_config, split_list


def _load(tmp_path: Path, toml: str = "", **env: str):
    path = tmp_path / "joist.toml"
    path.write_text(toml)
    return load_config({"JOIST_CONFIG": str(path), **env})


def test_defaults_are_safe_for_a_laptop(tmp_path: Path):
    config = _load(tmp_path)
    assert config.records.database_url == "sqlite:///var/records.db"
    assert config.gateway.http_listen == "127.0.0.1:8080"
    assert [r.name for r in config.notifier.rules] == ["contact-message-to-admin"]


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
