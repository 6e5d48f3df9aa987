"""What a list of records may be filtered and sorted by: the filter fields (every field but JSON
ones, plus the system fields) and the sortable ones (system fields and indexed fields) of a
collection, for services/common/filtering.py and ordering.py."""

from __future__ import annotations

import peewee

from services.common.filtering import FilterField, ValueKind
from services.records.models import RecordRow, field_column
from services.records.schema import CollectionSpec, FieldType

_KINDS = {
    FieldType.INTEGER: ValueKind.INTEGER,
    FieldType.NUMBER: ValueKind.NUMBER,
    FieldType.BOOL: ValueKind.BOOL,
    FieldType.DATETIME: ValueKind.TIMESTAMP,
}
SORTABLE_SYSTEM_FIELDS = ("id", "create_time", "update_time")


def query_fields(
    spec: CollectionSpec, model: type[RecordRow]
) -> tuple[dict[str, FilterField], dict[str, FilterField]]:
    """The filter fields and the sortable ones of `model`, built once per model (a schema
    change builds a new model)."""
    found = model.__dict__.get("_query_fields")
    if found is None:
        fields = _filter_fields(spec, model)
        found = model._query_fields = (fields, _sortable_fields(spec, fields))
    return found


def _filter_fields(spec: CollectionSpec, model: type[RecordRow]) -> dict[str, FilterField]:
    fields = {
        "id": FilterField(model.id, ValueKind.STRING),
        "create_time": FilterField(model.create_time, ValueKind.TIMESTAMP),
        "update_time": FilterField(model.update_time, ValueKind.TIMESTAMP),
        "owner": FilterField(model.owner, ValueKind.STRING),
    }
    for field in spec.fields:
        if field.type is not FieldType.JSON:
            column: peewee.Field = field_column(model, field.name)
            fields[field.name] = FilterField(column, _KINDS.get(field.type, ValueKind.STRING))
    return fields


def _sortable_fields(
    spec: CollectionSpec, fields: dict[str, FilterField]
) -> dict[str, FilterField]:
    names = {*SORTABLE_SYSTEM_FIELDS, *spec.indexed_fields()}
    return {name: field for name, field in fields.items() if name in names}
