"""Records and collections as the API shows them: protobuf messages, and a record's JSON for
event payloads (the same lowerCamelCase shape a front end gets from the gateway, with each value
rendered by its field type, so an INTEGER stays an integer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2

from joist.v1 import collections_pb2, records_pb2
from services.common.timestamps import (
    epoch_micros,
    rfc3339,
    set_epoch_micros,
    set_timestamp,
    to_timestamp,
)
from services.records.record import StoredRecord, etag_of
from services.records.schema import OPERATIONS, CollectionSpec


def to_proto(record: StoredRecord) -> records_pb2.Record:
    message = records_pb2.Record()
    fill_record(message, record)
    return message


def fill_record(message: records_pb2.Record, record: StoredRecord) -> None:
    """Sets an empty Record message (e.g. `response.records.add()`: no copy) to `record`, its
    submessages in place (a page of records pays this per row)."""
    message.id = record.id
    message.collection = record.collection
    message.owner = record.owner
    updated = epoch_micros(record.update_time)  # once for the etag and the update time
    message.etag = etag_of(updated)
    set_epoch_micros(message.update_time, updated)
    if record.create_time == record.update_time:  # a record never updated
        set_epoch_micros(message.create_time, updated)
    else:
        set_timestamp(message.create_time, record.create_time)
    fields = message.data.fields
    for key, value in record.data.items():
        if type(value) is str:  # most values: set directly, not through Struct's Python code
            fields[key].string_value = value
        else:
            message.data[key] = value


def add_records(container: Any, records: Iterable[StoredRecord]) -> None:
    """Appends `records` to a repeated Record field (a response's `records`), each filled in
    place."""
    for record in records:
        fill_record(container.add(), record)


def to_json(record: StoredRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "collection": record.collection,
        "createTime": rfc3339(record.create_time),
        "updateTime": rfc3339(record.update_time),
        "etag": record.etag,
        "owner": record.owner,
        "data": record.data,
    }


def collection_to_proto(spec: CollectionSpec) -> collections_pb2.Collection:
    message = collections_pb2.Collection(
        name=spec.name,
        create_time=to_timestamp(spec.create_time),
        update_time=to_timestamp(spec.update_time),
        etag=spec.etag,
    )
    for field in spec.fields:
        item = message.fields.add(
            name=field.name,
            type=collections_pb2.Field.Type.Value(field.type.value),
            required=field.required,
            unique=field.unique,
            options=field.options,
            relation=field.relation,
            id=field.id,
        )
        if field.max_length is not None:
            item.max_length = field.max_length
        if field.default is not None:
            item.default.CopyFrom(_value(field.default))
    for index in spec.indexes:
        message.indexes.add(fields=index.fields, unique=index.unique)
    for op in OPERATIONS:
        setattr(
            message.rules, op, collections_pb2.Rules.Access.Value(getattr(spec.rules, op).value)
        )
    return message


def _value(value: Any) -> struct_pb2.Value:
    holder = struct_pb2.Struct()
    holder.update({"v": value})
    return holder.fields["v"]
