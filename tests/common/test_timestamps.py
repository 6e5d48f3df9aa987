"""to_timestamp gives what protobuf's own Timestamp.FromDatetime gives, and epoch_micros what
timedelta division gives, for naive UTC and aware datetimes, before and after the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from services.common.timestamps import epoch_micros, to_timestamp


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 19, 46, 27, 123456),
        datetime(1960, 2, 29, 23, 59, 59, 999999),
        datetime(1970, 1, 1),
        datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=UTC),
    ],
)
def test_matches_from_datetime(moment: datetime) -> None:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(aware)
    assert to_timestamp(moment) == expected
    assert epoch_micros(moment) == (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )


def test_none_is_none() -> None:
    assert to_timestamp(None) is None
