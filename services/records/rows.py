"""Rows of a collection's table read straight from the database cursor and turned into records.

Peewee converts every column of every row through its field's `python_value`, and for a SQLite
datetime tries format after format with `strptime`: on a page of records that cost more than
the query. A `RowReader`, built once per model, converts only the columns that need it (times
and booleans, which SQLite hands out as text and integers) and renders each field's value by
its type once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import peewee

from services.records.models import RecordRow, attribute
from services.records.record import StoredRecord
from services.records.schema import CollectionSpec
from services.records.values import value_renderer

Convert = Callable[[Any], Any]


class RowReader:
    """Reads rows of `model.select(reader.selection)` or `model.select()`: every column, in
    the model's order."""

    def __init__(self, spec: CollectionSpec, model: type[RecordRow]) -> None:
        fields = model._meta.sorted_fields
        self.attributes = tuple(field.name for field in fields)
        # every column, rendered once (Peewee renders a model's columns again for each query)
        self.selection = peewee.SQL(", ".join(f'"{field.column_name}"' for field in fields))
        position = {name: i for i, name in enumerate(self.attributes)}
        self._collection = spec.name
        sqlite = isinstance(model._meta.database, peewee.SqliteDatabase)
        self._converters = tuple(
            (i, convert)
            for i, field in enumerate(fields)
            if (convert := _converter(field, sqlite)) is not None
        )
        self._data = tuple(
            (field.name, position[attribute(field.name)], value_renderer(field))
            for field in spec.fields
        )
        self._system = operator.itemgetter(
            *(position[name] for name in ("id", "create_time", "update_time", "owner"))
        )

    def values(self, row: Sequence[Any]) -> list[Any]:
        """The Python values of a row as the cursor gave it, by column position."""
        values = list(row)
        for i, convert in self._converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        return values

    def record(self, values: Sequence[Any]) -> StoredRecord:
        """The record of a row's Python values; fields without a value are left out."""
        data = {}
        for name, i, render in self._data:
            value = values[i]
            if value is not None:
                data[name] = value if render is None else render(value)
        record_id, created, updated, owner = self._system(values)
        return StoredRecord(record_id, self._collection, created, updated, owner, data)

    def record_of(self, values: Mapping[str, Any]) -> StoredRecord:
        """The record of Python values by model attribute (a model's `__data__`)."""
        return self.record([values.get(name) for name in self.attributes])

    def replaced(self, values: Sequence[Any], changes: Mapping[str, Any]) -> list[Any]:
        """`values` with `changes` (by model attribute) applied."""
        return [changes.get(name, value) for name, value in self.by_attribute(values).items()]

    def by_attribute(self, values: Sequence[Any]) -> dict[str, Any]:
        """A row's Python values by model attribute."""
        return dict(zip(self.attributes, values, strict=True))

    def read(self, cursor: Any) -> list[list[Any]]:
        """The Python values of every row left on a DB-API cursor."""
        return [self.values(row) for row in cursor.fetchall()]


def reader(spec: CollectionSpec, model: type[RecordRow]) -> RowReader:
    """The reader of `model`'s rows (built once per model: a schema change builds a new
    model)."""
    found = model.__dict__.get("_reader")
    if found is None:
        found = model._reader = RowReader(spec, model)
    return found


def _converter(field: peewee.Field, sqlite: bool) -> Convert | None:
    """What a column's value needs to become its Python value: SQLite keeps times as
    `YYYY-MM-DD HH:MM:SS[.ffffff]` text and booleans as integers; the drivers of other
    databases hand out datetimes and booleans."""
    if not sqlite:
        return None
    if isinstance(field, peewee.DateTimeField):
        return datetime.fromisoformat
    if isinstance(field, peewee.BooleanField):
        return bool
    return None
