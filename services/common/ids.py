"""Identifiers: time-ordered UUIDv7 strings for records, events and notifications."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A UUIDv7: unique, and sorting by it sorts by creation time (to the millisecond)."""
    return str(uuid_utils.uuid7())
