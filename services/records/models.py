"""Peewee models built from collection schemas: one table per collection, one real column per
field, beside the system columns every record has."""

from __future__ import annotations

import peewee

from services.records.schema import CollectionSpec, FieldSpec, FieldType

MAX_REQUEST_ID_LENGTH = 64


class RecordRow(peewee.Model):
    """System columns of every collection's table."""

    id = peewee.CharField(primary_key=True, max_length=36)
    create_time = peewee.DateTimeField()
    update_time = peewee.DateTimeField()
    owner = peewee.CharField(max_length=36, default="")
    request_id = peewee.CharField(max_length=MAX_REQUEST_ID_LENGTH, null=True, unique=True)


def _column(spec: FieldSpec) -> peewee.Field:
    if spec.type is FieldType.EMAIL or (spec.max_length and spec.max_length <= 255):
        return peewee.CharField(max_length=spec.max_length or 254, null=not spec.required)
    return peewee.TextField(null=not spec.required)


def build_model(db: peewee.Database, collection: CollectionSpec) -> type[RecordRow]:
    """A model class for `collection`, bound to `db`, whose table is named after it."""
    attrs: dict[str, object] = {spec.name: _column(spec) for spec in collection.fields}
    attrs["Meta"] = type("Meta", (), {"database": db, "table_name": collection.name})
    return type(f"{collection.name.title().replace('_', '')}Row", (RecordRow,), attrs)
