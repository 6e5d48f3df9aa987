"""A stored record as the repository hands it out: system fields beside the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredRecord:
    id: str
    collection: str
    create_time: datetime
    update_time: datetime
    owner: str
    data: dict[str, Any]
