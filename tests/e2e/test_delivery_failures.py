"""Provider outages through real processes: transient failures retry with backoff until sent;
permanent refusals end DEAD with the error — nothing is lost silently."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.cli.processes import free_port
from tests.e2e.conftest import running_stack
from tests.support.smtp import SmtpSink

MESSAGE = {"name": "Ann", "email": "ann@example.com", "message": "Hello"}


def _wait_state(api: httpx.Client, record_id: str, state: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.get(
            "/v1/notifications", params={"filter": f'event_subject = "{record_id}"'}
        ).json()["notifications"]
        if found and found[0]["state"] == state:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"notification of {record_id} never reached {state}: {found}")


@pytest.fixture
def sink_later(tmp_path: Path) -> Iterator[SmtpSink]:
    """A sink whose port is known now but which is started by the test."""
    sink = SmtpSink(port=free_port())
    yield sink
    sink.stop()


def test_smtp_down_then_up_is_retried_until_sent(tmp_path: Path, sink_later: SmtpSink):
    with (
        running_stack(tmp_path, sink_later) as stack,
        httpx.Client(base_url=stack.base_url, timeout=10) as api,
    ):
        record = api.post("/v1/collections/contact_messages/records", json=MESSAGE).json()
        failed = _wait_state(api, record["id"], "FAILED")
        assert failed["attempts"] >= 1
        assert "Connection refused" in failed["lastError"] or "Errno" in failed["lastError"]
        sink_later.start()
        sent = _wait_state(api, record["id"], "SENT")
        assert sent["attempts"] >= 2
        assert len(sink_later.wait_for(1, timeout=5)) == 1


def test_permanent_refusal_ends_dead(tmp_path: Path, smtp_sink: SmtpSink):
    smtp_sink.reply = "550 5.1.1 mailbox unavailable"
    with (
        running_stack(tmp_path, smtp_sink) as stack,
        httpx.Client(base_url=stack.base_url, timeout=10) as api,
    ):
        record = api.post("/v1/collections/contact_messages/records", json=MESSAGE).json()
        dead = _wait_state(api, record["id"], "DEAD")
        assert dead["attempts"] == 1
        assert "550" in dead["lastError"]
        dead_list = api.get("/v1/notifications", params={"filter": "state = DEAD"}).json()
        assert [n["id"] for n in dead_list["notifications"]] == [dead["id"]]
