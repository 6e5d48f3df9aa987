"""Records as the API shows them: the protobuf `Record`, and its JSON for event payloads
(the same lowerCamelCase JSON a front end gets from the gateway)."""

from __future__ import annotations

import hashlib
from typing import Any

from google.protobuf import json_format

from joist.v1 import records_pb2
from services.common.timestamps import to_timestamp
from services.records.record import StoredRecord


def etag(record: StoredRecord) -> str:
    """Changes whenever the record changes (it is derived from id and update time)."""
    seed = f"{record.id}/{record.update_time.isoformat()}".encode()
    return hashlib.blake2b(seed, digest_size=8).hexdigest()


def to_proto(record: StoredRecord) -> records_pb2.Record:
    message = records_pb2.Record(
        id=record.id,
        collection=record.collection,
        create_time=to_timestamp(record.create_time),
        update_time=to_timestamp(record.update_time),
        etag=etag(record),
        owner=record.owner,
    )
    message.data.update(record.data)
    return message


def to_json(record: StoredRecord) -> dict[str, Any]:
    return json_format.MessageToDict(to_proto(record), always_print_fields_with_no_presence=True)
