from __future__ import annotations

import json

import pytest

from services.common.events import make_event, parse_event, subject_matches


def test_cloud_event_shape():
    event = make_event("records.posts.created", source="joist/records", data={"a": 1}, subject="r1")
    assert event.subject == "joist.events.records.posts.created"
    body = json.loads(event.payload)
    assert body["specversion"] == "1.0"
    assert body["id"] == event.id
    assert body["type"] == "joist.records.posts.created"
    assert body["subject"] == "r1"
    assert body["time"].endswith("Z")
    assert body["datacontenttype"] == "application/json"
    assert parse_event(event.payload)["data"] == {"a": 1}


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"specversion": "0.3"}',
        b'{"specversion": "1.0", "id": "", "source": "s", "type": "t"}',
    ],
)
def test_parse_rejects_what_is_not_a_cloud_event(payload: bytes):
    with pytest.raises(ValueError):
        parse_event(payload)


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("records.contact_messages.created", "records.contact_messages.created", True),
        ("records.*.created", "records.posts.created", True),
        ("records.*.created", "records.posts.deleted", False),
        ("records.>", "records.posts.created", True),
        ("records.>", "records", False),
        ("records.posts", "records.posts.created", False),
        ("records.posts.created.x", "records.posts.created", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, expected: bool):
    assert subject_matches(pattern, subject) is expected
