"""UTC time helpers shared by events, records and notifications.

Databases keep naive datetimes that are UTC by convention (`utc_now`); these helpers turn them
into RFC 3339 strings and protobuf Timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

_EPOCH = datetime(1970, 1, 1)


def utc_now() -> datetime:
    """Now in UTC, naive, as stored in the databases."""
    return datetime.now(UTC).replace(tzinfo=None)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-12-04T19:46:27.123456Z`: RFC 3339 in UTC, as CloudEvents and JSON APIs expect."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """The Timestamp of `moment` (naive: UTC)."""
    if moment is None:
        return None
    timestamp = timestamp_pb2.Timestamp()
    set_timestamp(timestamp, moment)
    return timestamp


def set_timestamp(target: timestamp_pb2.Timestamp, moment: datetime) -> None:
    """Sets `target` (a message's Timestamp field, in place: no copy) to `moment` (naive: UTC),
    from whole days, seconds and microseconds: `Timestamp.FromDatetime` costs several times
    more, which lists of records pay per row."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    since = moment - _EPOCH
    target.seconds = since.days * 86_400 + since.seconds
    target.nanos = since.microseconds * 1000
