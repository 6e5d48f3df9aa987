"""The notification log table: one row per (event, rule), with its delivery state."""

from __future__ import annotations

import peewee

STATES = ("QUEUED", "SENT", "FAILED", "DEAD")


class NotificationRow(peewee.Model):
    id = peewee.CharField(primary_key=True, max_length=36)
    rule = peewee.CharField(max_length=100)
    event_id = peewee.CharField(max_length=100)
    event_type = peewee.CharField(max_length=255)
    event_subject = peewee.CharField(max_length=255, default="")
    channel = peewee.CharField(max_length=20)
    provider = peewee.CharField(max_length=20)
    recipient = peewee.CharField(max_length=320)
    title = peewee.TextField(default="")
    body = peewee.TextField(default="")
    reply_to = peewee.CharField(max_length=320, default="")
    state = peewee.CharField(max_length=10, default="QUEUED", index=True)
    attempts = peewee.IntegerField(default=0)
    last_error = peewee.TextField(default="")
    create_time = peewee.DateTimeField()
    update_time = peewee.DateTimeField()
    send_time = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "notifications"
        indexes = ((("event_id", "rule"), True), (("event_subject",), False))


def notification_model(db: peewee.Database) -> type[NotificationRow]:
    class Notification(NotificationRow):
        class Meta:
            database = db
            table_name = "notifications"

    return Notification
