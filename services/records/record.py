"""A stored record as the repository hands it out: system fields beside the data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from services.common.timestamps import epoch_micros


class StoredRecord(NamedTuple):
    """Immutable; a NamedTuple because lists build one per row, at a third of a frozen
    dataclass's cost."""

    id: str
    collection: str
    create_time: datetime
    update_time: datetime
    owner: str
    data: dict[str, Any]

    @property
    def etag(self) -> str:
        """Changes whenever the record changes: its update time (naive UTC), in microseconds
        since the epoch, in hex. Every update of a record sets a time strictly later than its
        last, so no two versions share an etag; a hash of it would cost three times more on
        every record of a list and tell a client nothing it cannot read in `updateTime`."""
        return etag_of(epoch_micros(self.update_time))


def etag_of(update_micros: int) -> str:
    """The etag of a record updated `update_micros` microseconds after the epoch."""
    return format(update_micros, "x")
