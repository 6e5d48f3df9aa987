"""Collection schemas: the typed fields a collection's records hold.

Collections are built in for now (`BUILTIN_COLLECTIONS`); user-defined collections will be
stored schemas of the same shape.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FieldType(enum.Enum):
    TEXT = "TEXT"
    EMAIL = "EMAIL"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    required: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


CONTACT_MESSAGES = CollectionSpec(
    name="contact_messages",
    fields=(
        FieldSpec("name", FieldType.TEXT, required=True, max_length=200),
        FieldSpec("email", FieldType.EMAIL, required=True, max_length=254),
        FieldSpec("message", FieldType.TEXT, required=True, max_length=5000),
    ),
)

BUILTIN_COLLECTIONS = {c.name: c for c in (CONTACT_MESSAGES,)}
