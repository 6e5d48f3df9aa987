"""RecordsService over gRPC: converts messages and runs repository work off the event loop."""

from __future__ import annotations

from functools import partial

import grpc
from google.protobuf import empty_pb2, json_format

from joist.v1 import records_pb2, records_pb2_grpc
from services.common.auth import current_caller
from services.common.database import DatabaseExecutor
from services.common.errors import InvalidArgument
from services.records.render import add_records, to_proto
from services.records.repository import NewRecord, RecordsRepository

# Batches up to this many records may commit on the event loop (~0.25 ms a record); larger
# ones commit on a thread, so that reads are not held up meanwhile.
QUICK_BATCH = 8


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    def __init__(self, repository: RecordsRepository, executor: DatabaseExecutor) -> None:
        self._repository = repository
        self._executor = executor

    async def CreateRecord(
        self, request: records_pb2.CreateRecordRequest, context: grpc.aio.ServicerContext
    ) -> records_pb2.Record:
        data = json_format.MessageToDict(request.data)
        record = await self._executor.write(
            partial(self._repository.create, caller=current_caller()),
            request.collection,
            data,
            request.request_id,
        )
        return to_proto(record)

    async def BatchCreateRecords(
        self, request: records_pb2.BatchCreateRecordsRequest, context: grpc.aio.ServicerContext
    ) -> records_pb2.BatchCreateRecordsResponse:
        items = []
        for i, item in enumerate(request.requests):
            if item.collection not in ("", request.collection):
                raise InvalidArgument.field(
                    f"requests[{i}].collection", f"must be empty or {request.collection!r}"
                )
            items.append(NewRecord(json_format.MessageToDict(item.data), item.request_id))
        create = partial(self._repository.batch_create, caller=current_caller())
        quick = len(items) <= QUICK_BATCH
        records = await self._executor.write(create, request.collection, items, quick=quick)
        response = records_pb2.BatchCreateRecordsResponse()
        add_records(response.records, records)
        return response

    async def GetRecord(
        self, request: records_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> records_pb2.Record:
        get = partial(self._repository.get, caller=current_caller())
        record = await self._executor.read(get, request.collection, request.id)
        return to_proto(record)

    async def ListRecords(
        self, request: records_pb2.ListRecordsRequest, context: grpc.aio.ServicerContext
    ) -> records_pb2.ListRecordsResponse:
        page = await self._executor.read(
            partial(self._repository.list, caller=current_caller()),
            request.collection,
            request.page_size,
            request.page_token,
            request.filter,
            request.order_by,
        )
        response = records_pb2.ListRecordsResponse(next_page_token=page.next_page_token)
        add_records(response.records, page.records)
        return response

    async def UpdateRecord(
        self, request: records_pb2.UpdateRecordRequest, context: grpc.aio.ServicerContext
    ) -> records_pb2.Record:
        record = await self._executor.write(
            partial(self._repository.update, caller=current_caller()),
            request.collection,
            request.id,
            json_format.MessageToDict(request.data),
            list(request.update_mask.paths),
            request.etag,
        )
        return to_proto(record)

    async def DeleteRecord(
        self, request: records_pb2.DeleteRecordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        delete = partial(self._repository.delete, caller=current_caller())
        await self._executor.write(delete, request.collection, request.id, request.etag)
        return empty_pb2.Empty()
