"""The Contact Us flow through real processes: gateway, records, NATS, notifier, SMTP sink."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import ADMIN
from tests.support.smtp import SmtpSink
from tests.support.stack import Stack

MESSAGE = {"name": "Ann Lee", "email": "ann@example.com", "message": "Do you ship to Oslo?"}


def _post(api: httpx.Client, body: dict, **params: str) -> httpx.Response:
    return api.post("/v1/collections/contact_messages/records", json=body, params=params)


def _notification_for(admin_api: httpx.Client, record_id: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        listed = admin_api.get(
            "/v1/notifications", params={"filter": f'event_subject = "{record_id}"'}
        )
        assert listed.status_code == 200, listed.text
        found = listed.json()["notifications"]
        if (found and found[0]["state"] == "SENT") or time.monotonic() > deadline:
            assert found, f"no notification for record {record_id}"
            return found[0]
        time.sleep(0.05)


def test_contact_message_is_stored_emailed_and_traceable(
    api: httpx.Client, admin_api: httpx.Client, smtp_sink: SmtpSink
):
    created = _post(api, MESSAGE)
    assert created.status_code == 200, created.text
    record = created.json()
    assert record["collection"] == "contact_messages"
    assert record["data"] == MESSAGE
    assert record["id"] and record["etag"] and record["createTime"].endswith("Z")

    assert api.get(f"/v1/collections/contact_messages/records/{record['id']}").status_code == 401
    fetched = admin_api.get(f"/v1/collections/contact_messages/records/{record['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == record

    mail = smtp_sink.wait_for(1, timeout=10)[0]
    assert mail.message["To"] == ADMIN
    assert mail.message["Reply-To"] == MESSAGE["email"]
    assert "Ann Lee" in mail.message["Subject"]
    for value in MESSAGE.values():
        assert value in mail.body

    summary = _notification_for(admin_api, record["id"])
    assert summary["state"] == "SENT"
    detail = admin_api.get(f"/v1/notifications/{summary['id']}")
    assert detail.status_code == 200
    notification = detail.json()
    assert notification["state"] == "SENT"
    assert notification["attempts"] == 1
    assert notification["recipient"] == ADMIN
    assert notification["provider"] == "smtp"
    assert notification["eventSubject"] == record["id"]
    assert notification["eventType"] == "joist.records.contact_messages.created"
    assert notification["sendTime"]
    by_event = admin_api.get(
        "/v1/notifications", params={"filter": f'event_id = "{notification["eventId"]}"'}
    )
    assert [n["id"] for n in by_event.json()["notifications"]] == [notification["id"]]
    assert mail.message["Message-ID"].startswith(f"<{notification['id']}@")


def test_post_answers_before_a_slow_email_is_delivered(api: httpx.Client, smtp_sink: SmtpSink):
    smtp_sink.delay = 2.0
    durations = []
    for i in range(3):
        started = time.perf_counter()
        response = _post(api, {**MESSAGE, "message": f"slow {i}"})
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    print(f"POST latency with a 2 s SMTP sink: {[f'{d * 1000:.1f} ms' for d in durations]}")
    assert max(durations) < 1.0
    assert not smtp_sink.messages  # the first email is still in the sink's 2 s delay
    assert len(smtp_sink.wait_for(3, timeout=20)) == 3


def test_nothing_is_lost_while_nats_is_down(
    stack: Stack, api: httpx.Client, admin_api: httpx.Client, smtp_sink: SmtpSink
):
    assert _post(api, {**MESSAGE, "message": "before"}).status_code == 200
    smtp_sink.wait_for(1, timeout=10)

    stack.nats.stop()
    ids = []
    for i in range(5):
        response = _post(api, {**MESSAGE, "message": f"while down {i}"})
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    for record_id in ids:
        fetched = admin_api.get(f"/v1/collections/contact_messages/records/{record_id}")
        assert fetched.status_code == 200
    time.sleep(1.0)
    assert len(smtp_sink.messages) == 1

    stack.nats.start()
    smtp_sink.wait_for(6, timeout=30)
    time.sleep(2.0)  # any duplicate would arrive by now
    bodies = [m.body for m in smtp_sink.messages]
    assert len(bodies) == 6
    for i in range(5):
        assert sum(f"while down {i}" in body for body in bodies) == 1
    for record_id in ids:
        assert _notification_for(admin_api, record_id)["state"] == "SENT"


def test_idempotent_create_with_request_id(api: httpx.Client, smtp_sink: SmtpSink):
    first = _post(api, MESSAGE, request_id="client-123")
    again = _post(api, MESSAGE, request_id="client-123")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    smtp_sink.wait_for(1, timeout=10)
    time.sleep(1.0)
    assert len(smtp_sink.messages) == 1
