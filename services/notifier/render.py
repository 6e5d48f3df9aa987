"""Notifications as the API shows them: the protobuf message and its JSON (for events)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from joist.v1 import notifications_pb2
from services.common.timestamps import to_timestamp
from services.notifier.models import NotificationRow


def to_proto(row: NotificationRow) -> notifications_pb2.Notification:
    return notifications_pb2.Notification(
        id=row.id,
        rule=row.rule,
        event_id=row.event_id,
        event_type=row.event_type,
        event_subject=row.event_subject,
        channel=row.channel,
        provider=row.provider,
        recipient=row.recipient,
        title=row.title,
        body=row.body,
        reply_to=row.reply_to,
        state=notifications_pb2.Notification.State.Value(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        create_time=to_timestamp(row.create_time),
        update_time=to_timestamp(row.update_time),
        send_time=to_timestamp(row.send_time),
    )


def to_event_json(row: NotificationRow) -> dict[str, Any]:
    """The notification without its body (events fan out further than the API)."""
    data = json_format.MessageToDict(to_proto(row), always_print_fields_with_no_presence=True)
    data.pop("body", None)
    return data
