"""The catalog: collection specs stored in the records database, their tables, and the models
every replica builds from them.

Specs live in `joist_collections` (one JSON document per collection, with a version), and a
one-row table `joist_catalog` holds a generation that every schema change bumps in the same
transaction as its DDL. Before each unit of work a replica reads the generation (one primary-key
read) and rebuilds its models when it moved, so a change made through any replica is seen by
all the others without a restart. Schema changes serialize on the generation row (PostgreSQL
row lock, SQLite's write lock); the first start on an empty PostgreSQL database takes an
advisory lock so that replicas starting together do not race to create tables.

Methods are blocking (Peewee) and run on the service's DatabaseExecutor.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace

import peewee

from services.common.database import bind, write_transaction
from services.common.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from services.common.ids import new_id
from services.common.outbox import OutboxRow, create_outbox
from services.common.timestamps import utc_now
from services.records.definitions import check_name
from services.records.migrations import match_fields, migrate
from services.records.models import INDEXABLE_SYSTEM_COLUMNS, RecordRow, build_model
from services.records.schema import (
    BUILTIN_COLLECTIONS,
    CollectionSpec,
    FieldType,
    from_document,
    to_document,
    with_field_ids,
)

BOOTSTRAP_LOCK = 0x4A6F697374  # "Joist": pg_advisory_xact_lock key for the first start


class CollectionRow(peewee.Model):
    name = peewee.CharField(primary_key=True, max_length=64)
    document = peewee.TextField()
    version = peewee.IntegerField()
    create_time = peewee.DateTimeField()
    update_time = peewee.DateTimeField()

    class Meta:
        table_name = "joist_collections"


class GenerationRow(peewee.Model):
    id = peewee.IntegerField(primary_key=True)
    generation = peewee.BigIntegerField()

    class Meta:
        table_name = "joist_catalog"


@dataclass(frozen=True)
class Snapshot:
    """The collections as of one generation: spec and model by name."""

    generation: int
    specs: dict[str, CollectionSpec]
    models: dict[str, type[RecordRow]]


class Catalog:
    def __init__(self, db: peewee.Database, system: dict[str, type[peewee.Model]]) -> None:
        self._db = db
        self._system = system  # tables RELATION fields may point into, e.g. users
        self._rows = bind(CollectionRow, db)
        self._generation = bind(GenerationRow, db)
        # compiled once: building the query with Peewee cost more than running it, every call
        self._read_generation = self._generation.select(self._generation.generation).sql()
        self._snapshot = Snapshot(-1, {}, {})
        self._lock = threading.Lock()

    # -- start and refresh ------------------------------------------------------------------

    def bootstrap(self, outbox: type[OutboxRow], tables: list[type[peewee.Model]]) -> None:
        """Creates the catalog, the system `tables` and the outbox, and seeds the built-in
        collections."""
        with write_transaction(self._db):
            if not isinstance(self._db, peewee.SqliteDatabase):
                self._db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (BOOTSTRAP_LOCK,))
            self._db.create_tables([self._rows, self._generation, *tables], safe=True)
            create_outbox(outbox)
            self._generation.insert(id=1, generation=0).on_conflict_ignore().execute()
            for spec in BUILTIN_COLLECTIONS:
                if self._rows.get_or_none(self._rows.name == spec.name) is None:
                    self._store_new(spec)

    def current(self) -> Snapshot:
        """The collections as they are now (rebuilt when another replica changed them)."""
        row = self._db.execute_sql(*self._read_generation).fetchone()
        generation = None if row is None else row[0]
        snapshot = self._snapshot
        if generation == snapshot.generation:
            return snapshot
        with self._lock:
            specs = {row.name: _spec(row) for row in self._rows.select()}
            models = {name: build_model(self._db, spec) for name, spec in specs.items()}
            self._snapshot = Snapshot(generation, specs, models)
            return self._snapshot

    def relation_target(self, name: str) -> type[peewee.Model]:
        """The table a RELATION field's values point into: a system table or a collection's."""
        return self._system[name] if name in self._system else self.resolve(name)[1]

    def resolve(self, name: str) -> tuple[CollectionSpec, type[RecordRow]]:
        if not name:
            raise InvalidArgument.field("collection", "is required")
        snapshot = self.current()
        if name not in snapshot.specs:
            raise NotFound(f"collection {name!r} not found")
        return snapshot.specs[name], snapshot.models[name]

    # -- reads --------------------------------------------------------------------------------

    def get(self, name: str) -> CollectionSpec:
        check_name(name)
        return self.resolve(name)[0]

    def all(self) -> list[CollectionSpec]:
        return sorted(self.current().specs.values(), key=lambda spec: spec.name)

    # -- schema changes -----------------------------------------------------------------------

    def create(self, spec: CollectionSpec) -> CollectionSpec:
        if spec.name in self._system:
            raise AlreadyExists(f"{spec.name!r} is a system collection")
        with write_transaction(self._db):
            self._bump()
            if self._rows.get_or_none(self._rows.name == spec.name) is not None:
                raise AlreadyExists(f"collection {spec.name!r} already exists")
            self._check_relations(spec)
            return self._store_new(with_field_ids(spec, new_id))

    def update(self, spec: CollectionSpec, parts: set[str], etag: str) -> CollectionSpec:
        """Replaces the `parts` ("fields", "indexes", "rules") of a collection, migrating its
        table."""
        with write_transaction(self._db):
            self._bump()
            old = self._stored(spec.name)
            if etag and etag != old.etag:
                raise Aborted(f"collection {spec.name!r} changed since etag {etag!r}")
            new = replace(
                old,
                fields=spec.fields if "fields" in parts else old.fields,
                indexes=spec.indexes if "indexes" in parts else old.indexes,
                rules=spec.rules if "rules" in parts else old.rules,
            )
            new = match_fields(old, new, new_id)
            self._check_indexes(new)
            self._check_relations(new)
            migrate(self._db, old, new)
            now = utc_now()
            new = replace(new, version=old.version + 1, update_time=now)
            self._rows.update(
                document=json.dumps(to_document(new)), version=new.version, update_time=now
            ).where(self._rows.name == new.name).execute()
            return new

    def delete(self, name: str, etag: str, force: bool) -> None:
        check_name(name)
        with write_transaction(self._db):
            self._bump()
            old = self._stored(name)
            if etag and etag != old.etag:
                raise Aborted(f"collection {name!r} changed since etag {etag!r}")
            for other in self._all_stored():
                for field in other.fields:
                    if (
                        other.name != name
                        and field.type is FieldType.RELATION
                        and field.relation == name
                    ):
                        raise FailedPrecondition(
                            f"field {other.name}.{field.name} points into {name!r}; change it first"
                        )
            model = build_model(self._db, old)
            if not force and model.select().exists():
                raise FailedPrecondition(f"collection {name!r} holds records; delete with force")
            model.drop_table()
            self._rows.delete().where(self._rows.name == name).execute()

    # -- helpers ------------------------------------------------------------------------------

    def _bump(self) -> None:
        """Moves the generation on (and, on PostgreSQL, waits for other schema changes)."""
        self._generation.update(generation=self._generation.generation + 1).where(
            self._generation.id == 1
        ).execute()

    def _stored(self, name: str) -> CollectionSpec:
        row = self._rows.get_or_none(self._rows.name == name)
        if row is None:
            raise NotFound(f"collection {name!r} not found")
        return _spec(row)

    def _all_stored(self) -> list[CollectionSpec]:
        return [_spec(row) for row in self._rows.select()]

    def _store_new(self, spec: CollectionSpec) -> CollectionSpec:
        now = utc_now()
        spec = replace(spec, version=1, create_time=now, update_time=now)
        build_model(self._db, spec).create_table(safe=True)
        self._rows.create(
            name=spec.name,
            document=json.dumps(to_document(spec)),
            version=1,
            create_time=now,
            update_time=now,
        )
        return spec

    def _check_relations(self, spec: CollectionSpec) -> None:
        names = {row.name for row in self._rows.select(self._rows.name)} | {
            spec.name,
            *self._system,
        }
        for i, field in enumerate(spec.fields):
            if field.type is FieldType.RELATION and field.relation not in names:
                raise InvalidArgument.field(
                    f"collection.fields[{i}].relation", f"no collection is named {field.relation!r}"
                )

    @staticmethod
    def _check_indexes(spec: CollectionSpec) -> None:
        for i, index in enumerate(spec.indexes):
            for name in index.fields:
                if spec.field(name) is None and name not in INDEXABLE_SYSTEM_COLUMNS:
                    raise InvalidArgument.field(
                        f"collection.indexes[{i}].fields", f"unknown field {name!r}"
                    )


def _spec(row: CollectionRow) -> CollectionSpec:
    return from_document(
        row.name,
        json.loads(row.document),
        version=row.version,
        create_time=row.create_time,
        update_time=row.update_time,
    )
