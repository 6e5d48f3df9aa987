"""A bad setting stops a service at start with exit code 2 and a message naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _serve(service: str, tmp_path: Path, toml: str = "", **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "joist.toml").write_text(toml)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOIST_")}
    environment |= {"JOIST_CONFIG": str(tmp_path / "joist.toml"), **env}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", "serve", service],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("service", "toml", "env", "named"),
    [
        ("records", "", {"JOIST_RECORDS_DATABASE_URL": "mysql://db/x"}, "records.database_url"),
        ("gateway", "", {"JOIST_GATEWAY_MAX_BODY_BYTES": "lots"}, "JOIST_GATEWAY_MAX_BODY_BYTES"),
        (
            "notifier",
            '[[notifier.rules]]\nname = "r"\nevent = "records.>"\ntemplate = "nope"\n',
            {},
            "notifier.rules[0].template",
        ),
        (
            "scheduler",
            '[[scheduler.jobs]]\nname = "r"\nevery = "90m"\nat = "07:00"\n',
            {},
            "scheduler.jobs[0].at",
        ),
        ("notifier", "", {}, "auth.public_key_file"),  # no token keys in this folder
        ("scheduler", "", {"JOIST_AUTH_PUBLIC_KEY": "not a key"}, "auth.public_key"),
    ],
)
def test_a_bad_setting_stops_the_service_naming_it(
    tmp_path: Path, service: str, toml: str, env: dict, named: str
):
    result = _serve(service, tmp_path, toml, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
