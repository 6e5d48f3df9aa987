"""Provider outages through real processes: transient failures retry with backoff until sent;
permanent refusals end DEAD with the error — nothing is lost silently."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.cli.processes import free_port
from tests.e2e.conftest import client, running_stack
from tests.support.smtp import SmtpSink

MESSAGE = {"name": "Ann", "email": "ann@example.com", "message": "Hello"}


def _wait_state(admin_api: httpx.Client, record_id: str, state: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = admin_api.get(
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
        client(stack) as api,
        client(stack, admin=True) as admin_api,
    ):
        record = api.post("/v1/collections/contact_messages/records", json=MESSAGE).json()
        failed = _wait_state(admin_api, record["id"], "FAILED")
        assert failed["attempts"] >= 1
        assert "Connection refused" in failed["lastError"] or "Errno" in failed["lastError"]
        sink_later.start()
        sent = _wait_state(admin_api, record["id"], "SENT")
        assert sent["attempts"] >= 2
        assert len(sink_later.wait_for(1, timeout=5)) == 1


def _dead_contact_notification(
    api: httpx.Client, admin_api: httpx.Client, sink: SmtpSink
) -> tuple[dict, dict]:
    """Posts a contact message that the SMTP server refuses for good: (record, notification)."""
    sink.reply = "550 5.1.1 mailbox unavailable"
    record = api.post("/v1/collections/contact_messages/records", json=MESSAGE).json()
    return record, _wait_state(admin_api, record["id"], "DEAD")


def test_permanent_refusal_ends_dead_and_an_operator_can_retry(
    api: httpx.Client, admin_api: httpx.Client, smtp_sink: SmtpSink
):
    record, dead = _dead_contact_notification(api, admin_api, smtp_sink)
    assert dead["attempts"] == 1
    assert "550" in dead["lastError"]
    dead_list = admin_api.get("/v1/notifications", params={"filter": "state = DEAD"}).json()
    assert [n["id"] for n in dead_list["notifications"]] == [dead["id"]]

    # The operator fixes the mailbox and retries: one more attempt, now.
    smtp_sink.reply = "250 OK"
    assert api.post(f"/v1/notifications/{dead['id']}:retry", json={}).status_code == 401
    retried = admin_api.post(f"/v1/notifications/{dead['id']}:retry", json={})
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "QUEUED"
    sent = _wait_state(admin_api, record["id"], "SENT")
    assert sent["attempts"] == 2
    (mail,) = smtp_sink.wait_for(1, timeout=5)
    assert mail.message["Reply-To"] == MESSAGE["email"]

    again = admin_api.post(f"/v1/notifications/{dead['id']}:retry", json={})
    assert again.status_code == 400 and again.json()["code"] == 9
    assert "SENT" in again.json()["message"]
    assert admin_api.post("/v1/notifications/nope:retry", json={}).status_code == 404


def test_a_retry_that_fails_again_is_dead_again(
    api: httpx.Client, admin_api: httpx.Client, smtp_sink: SmtpSink
):
    record, dead = _dead_contact_notification(api, admin_api, smtp_sink)
    smtp_sink.reply = "451 4.3.0 still broken"  # transient, but a retry is a last chance
    assert admin_api.post(f"/v1/notifications/{dead['id']}:retry", json={}).status_code == 200
    again = _wait_state(admin_api, record["id"], "DEAD")
    assert again["attempts"] == 2 and "451" in again["lastError"]
