"""UTC time helpers shared by events, records and notifications.

Databases keep naive datetimes that are UTC by convention (`utc_now`); these helpers turn them
into RFC 3339 strings and protobuf Timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


def utc_now() -> datetime:
    """Now in UTC, naive, as stored in the databases."""
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def epoch_micros(moment: datetime) -> int:
    """Microseconds from the Unix epoch to `moment` (naive: UTC)."""
    return (_naive_utc(moment) - _EPOCH) // _MICROSECOND


def rfc3339(moment: datetime) -> str:
    """`2026-12-04T19:46:27.123456Z`: RFC 3339 in UTC, as CloudEvents and JSON APIs expect."""
    return _naive_utc(moment).isoformat(timespec="microseconds") + "Z"


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
    since = _naive_utc(moment) - _EPOCH
    target.seconds = since.days * 86_400 + since.seconds
    target.nanos = since.microseconds * 1000
