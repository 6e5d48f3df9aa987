"""Collection schemas: the typed fields, indexes and access rules of a collection.

A `CollectionSpec` is what the catalog stores (as JSON, `to_document`/`from_document`) and what
the models, validation and migrations are built from. `contact_messages` is built in and seeded
on first start.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


class FieldType(enum.Enum):
    TEXT = "TEXT"
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    BOOL = "BOOL"
    DATETIME = "DATETIME"
    EMAIL = "EMAIL"
    URL = "URL"
    SELECT = "SELECT"
    JSON = "JSON"
    RELATION = "RELATION"


# Types whose values are stored as text; a field may change between them only towards TEXT.
TEXT_TYPES = frozenset(
    {FieldType.TEXT, FieldType.EMAIL, FieldType.URL, FieldType.SELECT, FieldType.RELATION}
)


class Access(enum.Enum):
    PUBLIC = "PUBLIC"
    AUTHENTICATED = "AUTHENTICATED"
    OWNER = "OWNER"
    ADMIN = "ADMIN"


OPERATIONS = ("list", "get", "create", "update", "delete")

# Columns every record table has; no field may take these names.
SYSTEM_FIELDS = ("id", "collection", "create_time", "update_time", "etag", "owner", "request_id")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    required: bool = False
    unique: bool = False
    default: Any = None
    max_length: int | None = None
    options: tuple[str, ...] = ()
    relation: str = ""
    id: str = ""


@dataclass(frozen=True)
class IndexSpec:
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Rules:
    list: Access = Access.ADMIN
    get: Access = Access.ADMIN
    create: Access = Access.ADMIN
    update: Access = Access.ADMIN
    delete: Access = Access.ADMIN


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    indexes: tuple[IndexSpec, ...] = ()
    rules: Rules = field(default_factory=Rules)
    version: int = 0
    create_time: datetime | None = None
    update_time: datetime | None = None

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def table_name(self) -> str:
        return f"records_{self.name}"

    @property
    def etag(self) -> str:
        return hashlib.blake2b(f"{self.name}/{self.version}".encode(), digest_size=8).hexdigest()

    def indexed_fields(self) -> set[str]:
        """Fields that lead an index (or are unique): the ones lists may be sorted by."""
        leading = {index.fields[0] for index in self.indexes}
        return leading | {f.name for f in self.fields if f.unique}


def to_document(spec: CollectionSpec) -> dict[str, Any]:
    """The JSON document the catalog stores for `spec` (without its version and times)."""
    return {
        "fields": [
            {
                "id": f.id,
                "name": f.name,
                "type": f.type.value,
                "required": f.required,
                "unique": f.unique,
                "default": f.default,
                "max_length": f.max_length,
                "options": list(f.options),
                "relation": f.relation,
            }
            for f in spec.fields
        ],
        "indexes": [{"fields": list(i.fields), "unique": i.unique} for i in spec.indexes],
        "rules": {op: getattr(spec.rules, op).value for op in OPERATIONS},
    }


def from_document(name: str, document: dict[str, Any], **system: Any) -> CollectionSpec:
    fields = tuple(
        FieldSpec(
            name=f["name"],
            type=FieldType(f["type"]),
            required=f["required"],
            unique=f["unique"],
            default=f["default"],
            max_length=f["max_length"],
            options=tuple(f["options"]),
            relation=f["relation"],
            id=f["id"],
        )
        for f in document["fields"]
    )
    indexes = tuple(IndexSpec(tuple(i["fields"]), i["unique"]) for i in document["indexes"])
    rules = Rules(**{op: Access(value) for op, value in document["rules"].items()})
    return CollectionSpec(name, fields, indexes, rules, **system)


def with_field_ids(spec: CollectionSpec, new_id: Any) -> CollectionSpec:
    """`spec` with an id given (by `new_id()`) to each field that has none."""
    fields = tuple(f if f.id else replace(f, id=new_id()) for f in spec.fields)
    return replace(spec, fields=fields)


CONTACT_MESSAGES = CollectionSpec(
    name="contact_messages",
    fields=(
        FieldSpec("name", FieldType.TEXT, required=True, max_length=200, id="f_name"),
        FieldSpec("email", FieldType.EMAIL, required=True, max_length=254, id="f_email"),
        FieldSpec("message", FieldType.TEXT, required=True, max_length=5000, id="f_message"),
    ),
    rules=Rules(create=Access.PUBLIC),
)

BUILTIN_COLLECTIONS = (CONTACT_MESSAGES,)
