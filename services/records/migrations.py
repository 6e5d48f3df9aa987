"""Schema migrations: the table changes that take a collection from one spec to the next, with
its data in place (`playhouse.migrate`).

A field is the same field across versions when it keeps its id; a new name with an old id is a
rename. Changes that would lose or invalidate stored data are refused with FAILED_PRECONDITION
before anything is changed: a type change other than towards TEXT from a text-stored type, a
shorter `max_length` than a stored value, a SELECT option still in use, making a field required
while records lack it (unless it has a default, which fills them), or a unique constraint the
stored values break. Removing a field drops its column: that is what was asked.

Run `migrate` inside the write transaction that stores the new spec: on SQLite and PostgreSQL
DDL is transactional, so a failure leaves table and catalog as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import peewee
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator

from services.common.errors import FailedPrecondition, InvalidArgument
from services.records.models import all_indexes, build_model, column, field_column, index_name
from services.records.schema import TEXT_TYPES, CollectionSpec, FieldSpec, FieldType
from services.records.values import check_value


def match_fields(
    old: CollectionSpec, new: CollectionSpec, new_id: Callable[[], str]
) -> CollectionSpec:
    """`new` with each field's id: the id it was sent with (it must be one of `old`'s), else
    the id of `old`'s field of the same name, else a new one."""
    old_ids = {f.id for f in old.fields}
    by_name = {f.name: f.id for f in old.fields}
    fields: list[FieldSpec] = []
    for i, field in enumerate(new.fields):
        if field.id and field.id not in old_ids:
            raise InvalidArgument.field(
                f"collection.fields[{i}].id", f"no field has id {field.id!r}"
            )
        fields.append(replace(field, id=field.id or by_name.get(field.name) or new_id()))
    ids = [f.id for f in fields]
    if len(set(ids)) < len(ids):
        raise InvalidArgument.field("collection.fields", "two fields have the same id")
    return replace(new, fields=tuple(fields))


def migrate(db: peewee.Database, old: CollectionSpec, new: CollectionSpec) -> None:
    """Changes `old`'s table into `new`'s; raises FailedPrecondition (changing nothing) when the
    stored data forbids it."""
    model = build_model(db, old)
    before = {f.id: f for f in old.fields}
    after = {f.id: f for f in new.fields}
    _check(model, before, after)
    migrator = _migrator(db)
    table = old.table_name
    new_indexes = {index_name(new, i): i for i in all_indexes(new)}
    for index in all_indexes(old):
        if index_name(old, index) not in new_indexes:
            migrator.drop_index(table, index_name(old, index)).run()
    for field_id in before.keys() - after.keys():
        migrator.drop_column(table, before[field_id].name).run()
    for field_id in before.keys() & after.keys():
        if before[field_id].name != after[field_id].name:
            migrator.rename_column(table, before[field_id].name, after[field_id].name).run()
    for field in (after[i] for i in after.keys() - before.keys()):
        migrator.add_column(table, field.name, column(field)).run()
    _fill_defaults(db, old, new)
    _add_indexes(build_model(db, new))


def _check(
    model: type[peewee.Model], before: dict[str, FieldSpec], after: dict[str, FieldSpec]
) -> None:
    has_rows = model.select().exists()
    for field_id, new in after.items():
        old = before.get(field_id)
        if old is None:
            if new.required and new.default is None and has_rows:
                raise FailedPrecondition(
                    f"field {new.name!r} is required and has no default, but records exist"
                )
            continue
        if old.type is not new.type and not (old.type in TEXT_TYPES and new.type is FieldType.TEXT):
            raise FailedPrecondition(
                f"field {old.name!r} cannot change from {old.type.value} to {new.type.value}: "
                "stored values would not convert; add a new field instead"
            )
        stored = field_column(model, old.name)
        newly_required = new.required and not old.required and new.default is None
        if newly_required and model.select().where(stored.is_null()).exists():
            raise FailedPrecondition(f"field {old.name!r} cannot become required: records lack it")
        if new.max_length and new.type in TEXT_TYPES and (old.max_length or 0) != new.max_length:
            longest = model.select(peewee.fn.MAX(peewee.fn.LENGTH(stored))).scalar() or 0
            if longest > new.max_length:
                raise FailedPrecondition(
                    f"field {old.name!r} holds values of {longest} characters, "
                    f"longer than max_length {new.max_length}"
                )
        if new.type is FieldType.SELECT:
            dropped = set(old.options) - set(new.options)
            if dropped and model.select().where(stored.in_(sorted(dropped))).exists():
                raise FailedPrecondition(f"field {old.name!r}: removed options are still in use")


def _fill_defaults(db: peewee.Database, old: CollectionSpec, new: CollectionSpec) -> None:
    """Gives records without a value the default of each new field, and of each field that
    became required."""
    model = build_model(db, new)
    before = {f.id: f for f in old.fields}
    for field in new.fields:
        earlier = before.get(field.id)
        if field.default is None or (
            earlier is not None and (earlier.required or not field.required)
        ):
            continue
        stored = field_column(model, field.name)
        model.update({stored: check_value(field, field.default)}).where(stored.is_null()).execute()


def _add_indexes(model: type[peewee.Model]) -> None:
    """Creates the indexes of `model` that do not exist yet."""
    try:
        model._schema.create_indexes(safe=True)
    except peewee.IntegrityError as exc:
        raise FailedPrecondition("cannot add a unique index: stored values repeat") from exc


def _migrator(db: peewee.Database) -> SchemaMigrator:
    return SqliteMigrator(db) if isinstance(db, peewee.SqliteDatabase) else PostgresqlMigrator(db)
