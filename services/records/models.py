"""Peewee models built from collection schemas: one table per collection (`records_<name>`),
one real column per field beside the system columns, and the indexes the schema asks for.

Field columns are nullable in the database: `required` and defaults are enforced when a record
is written, which keeps adding and removing fields cheap migrations. A field's attribute on the
model is `f_<name>` (so that no field name can shadow a Model method); its column is `<name>`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import peewee

from services.records.schema import CollectionSpec, FieldSpec, FieldType, IndexSpec

MAX_REQUEST_ID_LENGTH = 64
# System columns that filters, sorting and indexes may name.
SYSTEM_COLUMNS = frozenset({"id", "create_time", "update_time", "owner"})
# Those an index may name beside the collection's fields (`id` is the primary key already).
INDEXABLE_SYSTEM_COLUMNS = SYSTEM_COLUMNS - {"id"}


class RecordRow(peewee.Model):
    """System columns of every collection's table."""

    id = peewee.CharField(primary_key=True, max_length=36)
    create_time = peewee.DateTimeField()
    update_time = peewee.DateTimeField()
    owner = peewee.CharField(max_length=36, default="", index=True)
    request_id = peewee.CharField(max_length=MAX_REQUEST_ID_LENGTH, null=True, unique=True)

    @classmethod
    def select_by_id(cls, record_id: str) -> Any:
        """A cursor over the row with this id (every column, in the model's order). Its SQL is
        built once per model: building it with Peewee costs more than the primary-key read."""
        sql = cls.__dict__.get("_by_id_sql")
        if sql is None:
            sql = cls._by_id_sql = cls.select().where(cls.id == record_id).sql()[0]
        return cls._meta.database.execute_sql(sql, (record_id,))


def attribute(name: str) -> str:
    """The model attribute of the field called `name`."""
    return f"f_{name}"


def column(spec: FieldSpec) -> peewee.Field:
    """The (nullable) column that holds `spec`'s values."""
    kinds: dict[FieldType, type[peewee.Field]] = {
        FieldType.INTEGER: peewee.BigIntegerField,
        FieldType.NUMBER: peewee.DoubleField,
        FieldType.BOOL: peewee.BooleanField,
        FieldType.DATETIME: peewee.DateTimeField,
    }
    return kinds.get(spec.type, peewee.TextField)(null=True, column_name=spec.name)


def index_name(collection: CollectionSpec, index: IndexSpec) -> str:
    """A stable name (within PostgreSQL's 63 characters) that follows field renames, being
    derived from field ids."""
    ids = [_field_key(collection, name) for name in index.fields]
    seed = f"{collection.name}/{'+'.join(ids)}/{index.unique}"
    return f"ix_{collection.name[:40]}_{hashlib.blake2b(seed.encode(), digest_size=6).hexdigest()}"


def _field_key(collection: CollectionSpec, name: str) -> str:
    field = collection.field(name)
    return field.id if field is not None else name


def all_indexes(collection: CollectionSpec) -> list[IndexSpec]:
    """Declared indexes plus one unique index per unique field."""
    unique = [IndexSpec((f.name,), unique=True) for f in collection.fields if f.unique]
    return [*collection.indexes, *unique]


def build_model(db: peewee.Database, collection: CollectionSpec) -> type[RecordRow]:
    """A model class for `collection`, bound to `db`."""
    attrs: dict[str, object] = {attribute(f.name): column(f) for f in collection.fields}
    attrs["Meta"] = type("Meta", (), {"database": db, "table_name": collection.table_name})
    model = type(f"Records_{collection.name}", (RecordRow,), attrs)
    for index in all_indexes(collection):
        columns = [field_column(model, name) for name in index.fields]
        if not index.unique:  # ends with the tiebreak of every sort, so pages read in index order
            columns.append(model.id)
        model.add_index(
            peewee.ModelIndex(
                model, columns, unique=index.unique, name=index_name(collection, index)
            )
        )
    return model


def field_column(model: type[RecordRow], name: str) -> peewee.Field:
    """The column of a field, or of a system field, by its API name."""
    return getattr(model, name if name in SYSTEM_COLUMNS else attribute(name))
