"""Shared fixtures: real servers on free ports, started per test (or module) and stopped after.

Hypothesis draws new examples on every run (`make test` keeps looking for counterexamples),
except under `HYPOTHESIS_PROFILE=ci` (`.ci/run`), where each property test draws the same
examples every run, so that a landing is decided by the change and not by the draw.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from services.cli.processes import NatsServer
from tests.support.postgres import throwaway_database
from tests.support.smtp import SmtpSink

settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs on SQLite (a file) and on a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/test.db"
    else:
        with throwaway_database() as url:
            yield url
