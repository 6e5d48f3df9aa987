"""Records storage: every write commits the record rows and one outbox event per changed record
in one transaction (`records.<collection>.created|updated|deleted`).

Methods are blocking (Peewee) and run on the service's DatabaseExecutor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import peewee

from services.common.auth import Caller
from services.common.database import insert_row, write_transaction
from services.common.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from services.common.events import make_event
from services.common.filtering import parse_filter
from services.common.ids import new_id
from services.common.ordering import after_condition, key_values, order_clauses, parse_order_by
from services.common.outbox import OutboxRow, enqueue
from services.common.pagination import PageTokens, page_size
from services.common.statements import StatementCache
from services.common.timestamps import utc_now
from services.records.access import check_record, owner_scope, require
from services.records.catalog import Catalog
from services.records.models import MAX_REQUEST_ID_LENGTH, RecordRow, attribute, field_column
from services.records.query import query_fields
from services.records.record import StoredRecord
from services.records.render import to_json
from services.records.rows import reader
from services.records.schema import CollectionSpec, FieldType
from services.records.values import check_data

EVENT_SOURCE = "joist/records"
ONE_MICROSECOND = timedelta(microseconds=1)
MAX_BATCH = 1000


@dataclass(frozen=True)
class RecordPage:
    records: list[StoredRecord]
    next_page_token: str


@dataclass(frozen=True)
class NewRecord:
    data: Mapping[str, Any]
    request_id: str = ""


LIST_STATEMENTS_KEPT = 256  # list queries whose SQL each replica keeps


class RecordsRepository:
    def __init__(
        self, db: peewee.Database, catalog: Catalog, outbox: type[OutboxRow], tokens: PageTokens
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._outbox = outbox
        self._tokens = tokens
        # a statement and its key take ~15 KB at most (a 4096-character filter): ~4 MB at worst
        self._statements = StatementCache(LIST_STATEMENTS_KEPT)

    # -- writes -------------------------------------------------------------------------------

    def create(
        self, collection: str, data: Mapping[str, Any], request_id: str = "", *, caller: Caller
    ) -> StoredRecord:
        """Validates and stores a record with its `created` event; a repeated request_id
        returns the record it first created."""
        item = NewRecord(data, request_id)
        return self.batch_create(collection, [item], caller=caller, batch=False)[0]

    def batch_create(
        self, collection: str, items: Sequence[NewRecord], *, caller: Caller, batch: bool = True
    ) -> list[StoredRecord]:
        """Creates every record or none; violations name `requests[i].<field>`. The owner is
        the signed-in user who creates them."""
        spec, model = self._catalog.resolve(collection)
        require(spec, "create", caller)
        if batch and not 1 <= len(items) <= MAX_BATCH:
            raise InvalidArgument.field("requests", f"must hold 1 to {MAX_BATCH} records")
        owner = caller.subject if caller.authenticated and not caller.is_service else ""
        checked = [
            self._check_new(spec, item, i if batch else None) for i, item in enumerate(items)
        ]
        try:
            with write_transaction(self._db):
                stored = [
                    self._insert(spec, model, item, clean, owner)
                    for item, clean in zip(items, checked, strict=True)
                ]
                self._emit([record for record, new in stored if new], "created")
                return [record for record, _ in stored]
        except peewee.IntegrityError as exc:
            return self._after_clash(spec, model, items, exc)

    def update(
        self,
        collection: str,
        record_id: str,
        data: Mapping[str, Any],
        mask: Sequence[str],
        expected_etag: str,
        *,
        caller: Caller,
    ) -> StoredRecord:
        """Changes the masked fields (all of `data`'s when the mask is empty) and commits the
        `updated` event; a stale etag is ABORTED."""
        spec, _ = self._catalog.resolve(collection)
        require(spec, "update", caller)
        for path in mask:
            if spec.field(path) is None:
                raise InvalidArgument.field("update_mask", f"unknown field {path!r}")
        if not mask and not data:
            raise InvalidArgument.field("data", "names no field to change")
        clean = check_data(spec, data, only=list(mask) or list(data))
        try:
            with write_transaction(self._db):
                spec, model = self._catalog.resolve(collection)
                rows = reader(spec, model)
                values = self._fetch(spec, model, record_id)
                before = rows.record(values)
                check_record(spec, "update", caller, before)
                if expected_etag and expected_etag != before.etag:
                    raise Aborted(f"record {record_id!r} changed since etag {expected_etag!r}")
                self._check_references(spec, model, clean, record_id)
                changes = {attribute(name): value for name, value in clean.items()}
                # strictly later, so that the etag (from the update time) changes, even when
                # the clock stepped back or two updates share a microsecond
                changes["update_time"] = max(utc_now(), before.update_time + ONE_MICROSECOND)
                model.update(changes).where(model.id == record_id).execute()
                record = rows.record(rows.replaced(values, changes))
                self._emit([record], "updated")
                return record
        except peewee.IntegrityError as exc:
            raise AlreadyExists(f"a record with the same unique value exists: {exc}") from exc

    def delete(
        self, collection: str, record_id: str, expected_etag: str, *, caller: Caller
    ) -> None:
        with write_transaction(self._db):
            spec, model = self._catalog.resolve(collection)
            require(spec, "delete", caller)
            record = reader(spec, model).record(self._fetch(spec, model, record_id))
            check_record(spec, "delete", caller, record)
            if expected_etag and expected_etag != record.etag:
                raise Aborted(f"record {record_id!r} changed since etag {expected_etag!r}")
            model.delete().where(model.id == record_id).execute()
            self._emit([record], "deleted", time=utc_now())

    # -- reads --------------------------------------------------------------------------------

    def get(self, collection: str, record_id: str, *, caller: Caller) -> StoredRecord:
        spec, model = self._catalog.resolve(collection)
        require(spec, "get", caller)
        record = reader(spec, model).record(self._fetch(spec, model, record_id))
        check_record(spec, "get", caller, record)
        return record

    def list(
        self,
        collection: str,
        size: int,
        token: str,
        filter_text: str = "",
        order_by: str = "",
        *,
        caller: Caller,
    ) -> RecordPage:
        """One page, filtered (AIP-160) and sorted (AIP-132); keyset pagination, never OFFSET.
        Under an OWNER rule, only the caller's records."""
        spec, model = self._catalog.resolve(collection)
        require(spec, "list", caller)
        scope = owner_scope(spec, "list", caller)
        limit = page_size(size)
        fields, sortable = query_fields(spec, model)
        keys = parse_order_by(order_by, sortable)
        fingerprint = f"{collection}\n{filter_text}\n{order_by}\n{scope}"
        after = self._tokens.decode(token, keys, fingerprint)
        rows = reader(spec, model)

        def query() -> peewee.Query:
            condition = parse_filter(filter_text, fields)
            query = model.select(rows.selection).order_by(*order_clauses(keys)).limit(limit + 1)
            if condition is not None:
                query = query.where(condition)
            if scope is not None:
                query = query.where(model.owner == scope)
            if after is not None:
                query = query.where(after_condition(keys, after))
            return query

        continued = None if after is None else tuple(after)
        key = (model, filter_text, order_by, scope, continued, limit)
        found = rows.read(self._db.execute_sql(*self._statements.get(key, query)))
        records = [rows.record(values) for values in found[:limit]]
        if len(found) <= limit:
            return RecordPage(records, "")
        last = key_values(keys, model(**rows.by_attribute(found[limit - 1])))
        return RecordPage(records, self._tokens.encode(keys, last, fingerprint))

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _check_new(spec: CollectionSpec, item: NewRecord, index: int | None) -> dict[str, Any]:
        prefix = "" if index is None else f"requests[{index}]."
        if len(item.request_id) > MAX_REQUEST_ID_LENGTH:
            raise InvalidArgument.field(
                f"{prefix}request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters"
            )
        return check_data(spec, item.data, prefix=prefix)

    def _insert(
        self,
        spec: CollectionSpec,
        model: type[RecordRow],
        item: NewRecord,
        clean: dict[str, Any],
        owner: str,
    ) -> tuple[StoredRecord, bool]:
        """The record stored for `item`, and whether it is new (not an earlier request's)."""
        if item.request_id:
            earlier = model.get_or_none(model.request_id == item.request_id)
            if earlier is not None:
                return reader(spec, model).record_of(earlier.__data__), False
        self._check_references(spec, model, clean, None)
        now = utc_now()
        values = {
            "id": new_id(),
            "create_time": now,
            "update_time": now,
            "owner": owner,
            "request_id": item.request_id or None,
            **{attribute(name): value for name, value in clean.items()},
        }
        insert_row(model, values)
        return reader(spec, model).record_of(values), True

    def _after_clash(
        self,
        spec: CollectionSpec,
        model: type[RecordRow],
        items: Sequence[NewRecord],
        exc: peewee.IntegrityError,
    ) -> list[StoredRecord]:
        """A concurrent create with the same request_id won the race: return its records."""
        ids = [item.request_id for item in items]
        if all(ids):
            earlier = {r.request_id: r for r in model.select().where(model.request_id.in_(ids))}
            if len(earlier) == len(ids):
                return [reader(spec, model).record_of(earlier[i].__data__) for i in ids]
        raise AlreadyExists(f"a record with the same unique value exists: {exc}") from exc

    def _check_references(
        self,
        spec: CollectionSpec,
        model: type[RecordRow],
        clean: dict[str, Any],
        record_id: str | None,
    ) -> None:
        """Unique values are free, and relations point at records that exist."""
        for name, value in clean.items():
            field = spec.field(name)
            if value is None or field is None:
                continue
            if field.unique:
                column = field_column(model, name)
                clash = model.select().where(column == value)
                if record_id is not None:
                    clash = clash.where(model.id != record_id)
                if clash.exists():
                    raise AlreadyExists(f"a {spec.name} record with this {name} already exists")
            if field.type is FieldType.RELATION:
                target = self._catalog.relation_target(field.relation)
                if not target.select().where(target.id == value).exists():
                    raise InvalidArgument.field(
                        name, f"no {field.relation} record has id {value!r}"
                    )

    @staticmethod
    def _fetch(spec: CollectionSpec, model: type[RecordRow], record_id: str) -> list[Any]:
        """The Python values of the record's row."""
        row = model.select_by_id(record_id).fetchone() if record_id else None
        if row is None:
            raise NotFound(f"record {record_id!r} not found in collection {spec.name!r}")
        return reader(spec, model).values(row)

    def _emit(self, records: Sequence[StoredRecord], change: str, time: Any = None) -> None:
        """One outbox event per record, in one insert."""
        events = [
            make_event(
                f"records.{record.collection}.{change}",
                source=EVENT_SOURCE,
                subject=record.id,
                data=to_json(record),
                time=time or record.update_time,
            )
            for record in records
        ]
        enqueue(self._outbox, events)
