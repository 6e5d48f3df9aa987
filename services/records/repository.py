"""Records storage: each write commits the record row and its outbox event in one transaction.

Methods are blocking (Peewee) and run on the service's DatabaseExecutor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import peewee

from services.common.database import write_transaction
from services.common.errors import InvalidArgument, NotFound
from services.common.events import make_event
from services.common.ids import new_id
from services.common.outbox import OutboxRow, enqueue
from services.common.pagination import decode_token, encode_token, page_size
from services.common.timestamps import utc_now
from services.records.models import MAX_REQUEST_ID_LENGTH, RecordRow, build_model
from services.records.record import StoredRecord
from services.records.render import to_json
from services.records.schema import CollectionSpec
from services.records.validation import validate_data

EVENT_SOURCE = "joist/records"


@dataclass(frozen=True)
class RecordPage:
    records: list[StoredRecord]
    next_page_token: str


class RecordsRepository:
    def __init__(
        self,
        db: peewee.Database,
        collections: dict[str, CollectionSpec],
        outbox: type[OutboxRow],
    ) -> None:
        self._db = db
        self._collections = collections
        self._models = {name: build_model(db, spec) for name, spec in collections.items()}
        self._outbox = outbox

    def create_tables(self) -> None:
        self._db.create_tables([*self._models.values(), self._outbox], safe=True)

    def create(self, collection: str, data: dict[str, Any], request_id: str = "") -> StoredRecord:
        """Validates and stores a record with its `created` event; a repeated request_id
        returns the record it first created."""
        spec, model = self._resolve(collection)
        if len(request_id) > MAX_REQUEST_ID_LENGTH:
            raise InvalidArgument.field(
                "request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters"
            )
        clean = validate_data(spec, data)
        with write_transaction(self._db):
            if request_id:
                earlier = model.get_or_none(model.request_id == request_id)
                if earlier is not None:
                    return self._stored(spec, earlier)
            now = utc_now()
            row = model.create(
                id=new_id(),
                create_time=now,
                update_time=now,
                owner="",
                request_id=request_id or None,
                **clean,
            )
            record = self._stored(spec, row)
            event = make_event(
                f"records.{collection}.created",
                source=EVENT_SOURCE,
                subject=record.id,
                data=to_json(record),
                time=now,
            )
            enqueue(self._outbox, [event])
        return record

    def get(self, collection: str, record_id: str) -> StoredRecord:
        spec, model = self._resolve(collection)
        row = model.get_or_none(model.id == record_id) if record_id else None
        if row is None:
            raise NotFound(f"record {record_id!r} not found in collection {collection!r}")
        return self._stored(spec, row)

    def list(self, collection: str, size: int, token: str) -> RecordPage:
        """A page of records in id (creation) order; keyset pagination, never OFFSET."""
        spec, model = self._resolve(collection)
        limit = page_size(size)
        after = decode_token(token, collection)
        query = model.select().order_by(model.id).limit(limit + 1)
        if after is not None:
            query = query.where(model.id > after)
        rows = list(query)
        records = [self._stored(spec, row) for row in rows[:limit]]
        more = len(rows) > limit
        return RecordPage(records, encode_token(records[-1].id, collection) if more else "")

    def _resolve(self, collection: str) -> tuple[CollectionSpec, type[RecordRow]]:
        if not collection:
            raise InvalidArgument.field("collection", "is required")
        if collection not in self._collections:
            raise NotFound(f"collection {collection!r} not found")
        return self._collections[collection], self._models[collection]

    @staticmethod
    def _stored(spec: CollectionSpec, row: RecordRow) -> StoredRecord:
        values = {f.name: getattr(row, f.name) for f in spec.fields}
        data = {name: value for name, value in values.items() if value is not None}
        return StoredRecord(
            id=row.id,
            collection=spec.name,
            create_time=row.create_time,
            update_time=row.update_time,
            owner=row.owner,
            data=data,
        )
