"""A stored record as the repository hands it out: system fields beside the data."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple


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
        """Changes whenever the record changes (it is derived from id and update time)."""
        seed = f"{self.id}/{self.update_time.isoformat()}".encode()
        return hashlib.blake2b(seed, digest_size=8).hexdigest()
