"""The e2e fixtures: a whole stack in child processes with the SMTP provider aimed at a sink.

`stack`/`api` are fresh per test (for tests that count emails or stop NATS); `module_api` shares
one stack across a module (for tests that only look at answers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.smtp import SmtpSink
from tests.support.stack import Stack

ADMIN = "admin@example.com"


@contextlib.contextmanager
def running_stack(workdir: Path, sink: SmtpSink) -> Iterator[Stack]:
    stack = Stack(
        workdir,
        {
            "JOIST_NOTIFIER_EMAIL_PROVIDER": "smtp",
            "JOIST_NOTIFIER_SMTP_HOST": "127.0.0.1",
            "JOIST_NOTIFIER_SMTP_PORT": str(sink.port),
            "JOIST_NOTIFIER_ADMIN_EMAIL": ADMIN,
            "JOIST_NOTIFIER_RETRY_BASE_DELAY": "0.2",
            "JOIST_NOTIFIER_RETRY_MAX_DELAY": "1",
            "JOIST_SCHEDULER_HEARTBEAT_EVERY": "1s",
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[Stack]:
    with running_stack(tmp_path, smtp_sink) as started:
        yield started


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def module_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    sink = SmtpSink().start()
    try:
        with (
            running_stack(tmp_path_factory.mktemp("stack"), sink) as started,
            httpx.Client(base_url=started.base_url, timeout=10) as client,
        ):
            yield client
    finally:
        sink.stop()
