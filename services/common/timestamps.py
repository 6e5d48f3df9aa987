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


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def epoch_micros(moment: datetime) -> int:
    """Microseconds from the Unix epoch to `moment` (naive: UTC), from whole days, seconds and
    microseconds (dividing by a one-microsecond timedelta costs more, per row of a list)."""
    since = _naive_utc(moment) - _EPOCH
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


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
    """Sets `target` (a message's Timestamp field, in place: no copy) to `moment` (naive: UTC):
    `Timestamp.FromDatetime` costs several times more, which lists of records pay per row."""
    set_epoch_micros(target, epoch_micros(moment))


def set_epoch_micros(target: timestamp_pb2.Timestamp, micros: int) -> None:
    """Sets `target` in place to `micros` microseconds from the Unix epoch."""
    seconds, rest = divmod(micros, 1_000_000)
    target.seconds = seconds
    target.nanos = rest * 1000
