"""The notification log on SQLite and on a throwaway PostgreSQL database."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from services.common.database import open_database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.outbox import outbox_model
from services.notifier.models import notification_model
from services.notifier.repository import Draft, NotificationsRepository


def _draft(event_id: str, rule: str = "r1", subject: str = "rec-1") -> Draft:
    return Draft(
        rule=rule,
        event_id=event_id,
        event_type="joist.records.x.created",
        event_subject=subject,
        channel="email",
        provider="smtp",
        recipient="admin@example.com",
        title="Hi",
        body="Body",
        reply_to="ann@example.com",
    )


def _open(repo: NotificationsRepository, draft: Draft):
    """What the dispatcher does for an event: the existing notification, or a new stored one."""
    return repo.find_for(draft) or repo.store(repo.new(draft))


@pytest.fixture
def repo(database_url: str) -> Iterator[NotificationsRepository]:
    db = open_database(database_url, pool_size=4)
    outbox = outbox_model(db)
    repository = NotificationsRepository(db, notification_model(db), outbox)
    repository.create_tables()
    repository.outbox = outbox
    yield repository
    getattr(db, "close_all", db.close)()


def _event_types(repo: NotificationsRepository) -> list[str]:
    rows = repo.outbox.select().order_by(repo.outbox.id)
    return [json.loads(bytes(row.payload))["type"] for row in rows]


def test_one_notification_per_event_and_rule(repo: NotificationsRepository):
    first = _open(repo, _draft("e1"))
    assert first.state == "QUEUED" and first.attempts == 0
    assert _open(repo, _draft("e1")).id == first.id
    assert _open(repo, _draft("e1", rule="r2")).id != first.id
    # A concurrent delivery of the same event made its own row: storing it returns the twin.
    assert repo.store(repo.new(_draft("e1"))).id == first.id


def test_state_changes_count_attempts_and_publish_events(repo: NotificationsRepository):
    row = _open(repo, _draft("e1"))
    failed = repo.mark_failed(row.id, "SMTP 451: later", dead=False)
    assert (failed.state, failed.attempts, failed.last_error) == ("FAILED", 1, "SMTP 451: later")
    sent = repo.mark_sent(row.id)
    assert (sent.state, sent.attempts) == ("SENT", 2) and sent.send_time is not None
    dead = repo.mark_failed(_open(repo, _draft("e2")).id, "SMTP 550: no", dead=True)
    assert dead.state == "DEAD"
    assert _event_types(repo) == [
        "joist.notifications.failed",
        "joist.notifications.sent",
        "joist.notifications.dead",
    ]
    payload = json.loads(bytes(repo.outbox.select().first().payload))
    assert "body" not in payload["data"]


def test_filters_and_pages(repo: NotificationsRepository):
    ids = [_open(repo, _draft(f"e{i}", subject=f"rec-{i % 2}")).id for i in range(5)]
    repo.mark_sent(ids[0])
    rows, _ = repo.list(0, "", 'event_subject = "rec-0"')
    assert [r.id for r in rows] == [ids[4], ids[2], ids[0]]
    rows, _ = repo.list(0, "", 'state = SENT AND event_subject = "rec-0"')
    assert [r.id for r in rows] == [ids[0]]
    seen, token = [], ""
    while True:
        rows, token = repo.list(2, token, "")
        seen += [r.id for r in rows]
        if not token:
            break
    assert seen == ids[::-1]
    with pytest.raises(InvalidArgument, match="page_token"):
        repo.list(2, repo.list(2, "", "")[1], "state = SENT")


def test_get(repo: NotificationsRepository):
    row = _open(repo, _draft("e1"))
    assert repo.get(row.id).id == row.id
    with pytest.raises(NotFound):
        repo.get("missing")
    with pytest.raises(InvalidArgument, match="id"):
        repo.get("")


def test_only_dead_notifications_can_be_retried(repo: NotificationsRepository):
    row = _open(repo, _draft("e1"))
    with pytest.raises(FailedPrecondition, match="QUEUED"):
        repo.request_retry(row.id)
    repo.mark_failed(row.id, "SMTP 550: no", dead=True)
    requeued = repo.request_retry(row.id)
    assert (requeued.state, requeued.attempts) == ("QUEUED", 1)
    assert _event_types(repo)[-1] == "joist.notifications.retrying"
    with pytest.raises(NotFound):
        repo.request_retry("missing")
