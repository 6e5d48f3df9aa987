"""The e2e fixtures: a whole stack in child processes with the SMTP provider aimed at a sink.

`stack`/`api` are fresh per test (for tests that count emails or stop NATS); `module_stack` and
`module_api` share one stack across a module (for tests that only look at answers). `api`
clients send no credentials; `admin_api`/`module_admin_api` send an admin's access token, for
the notifier's and the scheduler's admin-only RPCs.
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


def client(stack: Stack, *, admin: bool = False) -> httpx.Client:
    """An HTTP client of the stack's gateway, anonymous or signed in as an admin."""
    headers = stack.bearer() if admin else None
    return httpx.Client(base_url=stack.base_url, timeout=10, headers=headers)


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with client(stack) as anonymous:
        yield anonymous


@pytest.fixture
def admin_api(stack: Stack) -> Iterator[httpx.Client]:
    with client(stack, admin=True) as admin:
        yield admin


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    sink = SmtpSink().start()
    try:
        with running_stack(tmp_path_factory.mktemp("stack"), sink) as started:
            yield started
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def module_api(module_stack: Stack) -> Iterator[httpx.Client]:
    with client(module_stack) as anonymous:
        yield anonymous


@pytest.fixture(scope="module")
def module_admin_api(module_stack: Stack) -> Iterator[httpx.Client]:
    with client(module_stack, admin=True) as admin:
        yield admin
