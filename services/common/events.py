"""CloudEvents 1.0 in JSON structured mode, as published on `joist.events.>`.

The NATS subject is `joist.events.<kind>`; the CloudEvents `type` is `joist.<kind>`; the
event id is also the `Nats-Msg-Id` header, so JetStream drops a re-published duplicate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.ids import new_id
from services.common.timestamps import rfc3339, utc_now

SUBJECT_PREFIX = "joist.events."


@dataclass(frozen=True)
class Event:
    id: str
    subject: str  # NATS subject
    payload: bytes  # the CloudEvent as JSON


def make_event(
    kind: str,
    source: str,
    data: Any,
    subject: str = "",
    event_id: str | None = None,
    time: datetime | None = None,
) -> Event:
    """An event of `kind` (e.g. "records.contact_messages.created") from `source`."""
    ident = event_id or new_id()
    cloud_event = {
        "specversion": "1.0",
        "id": ident,
        "source": source,
        "type": f"joist.{kind}",
        "time": rfc3339(time or utc_now()),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject:
        cloud_event["subject"] = subject
    payload = json.dumps(cloud_event, separators=(",", ":"), ensure_ascii=False).encode()
    return Event(id=ident, subject=SUBJECT_PREFIX + kind, payload=payload)


def parse_event(payload: bytes) -> dict[str, Any]:
    """Decodes a CloudEvent; raises ValueError when it is not one."""
    event = json.loads(payload)
    if not isinstance(event, dict) or event.get("specversion") != "1.0":
        raise ValueError("not a CloudEvents 1.0 JSON event")
    for attribute in ("id", "source", "type"):
        if not isinstance(event.get(attribute), str) or not event[attribute]:
            raise ValueError(f"event has no {attribute}")
    return event


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` is one token, a final `>` is one or more tokens."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)
