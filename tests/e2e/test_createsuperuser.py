"""`joist createsuperuser` as a user runs it: from the environment's password or a prompt,
against the database the records service uses; the admin can then log in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect

from services.common.config import load_config
from services.common.database import open_database
from services.records.users import Users

COMMAND = [sys.executable, "-m", "services.cli.main", "createsuperuser"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "JOIST_RECORDS_DATABASE_URL": f"sqlite:///{tmp_path}/records.db"}
    env.pop("JOIST_SUPERUSER_PASSWORD", None)
    return {**env, **extra}


def _users(env: dict[str, str]) -> Users:
    return Users.from_config(
        open_database(env["JOIST_RECORDS_DATABASE_URL"]), load_config(env).auth
    )


def test_password_from_the_environment_then_promotion(tmp_path: Path):
    env = _env(tmp_path, JOIST_SUPERUSER_PASSWORD="first password!")
    made = subprocess.run(
        [*COMMAND, "--email", "Root@Example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created admin root@example.com")
    assert "admin" in _users(env).authenticate("root@example.com", "first password!").roles
    env["JOIST_SUPERUSER_PASSWORD"] = "second password!"
    again = subprocess.run(
        [*COMMAND, "--email", "root@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and again.stdout.startswith("promoted admin"), again.stderr
    assert _users(env).authenticate("root@example.com", "second password!")


def test_bad_input_is_refused_with_a_message(tmp_path: Path):
    env = _env(tmp_path, JOIST_SUPERUSER_PASSWORD="short")
    short = subprocess.run(
        [*COMMAND, "--email", "root@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert short.returncode == 2 and "password" in short.stderr
    env["JOIST_SUPERUSER_PASSWORD"] = "long enough password"
    bad = subprocess.run(
        [*COMMAND, "--email", "not-an-email"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "email" in bad.stderr


def test_password_from_the_prompt(tmp_path: Path):
    child = pexpect.spawn(
        COMMAND[0],
        [*COMMAND[1:], "--email", "prompt@example.com"],
        env=_env(tmp_path),
        timeout=60,
        encoding="utf-8",
    )
    child.expect("Password: ")
    child.sendline("typed password!")
    child.expect(r"Password \(again\): ")
    child.sendline("typo password!")
    child.expect("differ")
    child.expect("Password: ")
    child.sendline("typed password!")
    child.expect(r"Password \(again\): ")
    child.sendline("typed password!")
    child.expect("created admin prompt@example.com")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _users(_env(tmp_path)).authenticate("prompt@example.com", "typed password!")
