"""CollectionsService over gRPC: checks definitions, and runs catalog work off the event loop."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from joist.v1 import collections_pb2, collections_pb2_grpc
from services.common.database import DatabaseExecutor
from services.common.errors import InvalidArgument
from services.common.pagination import page_size
from services.records.catalog import Catalog
from services.records.definitions import check_name, to_spec
from services.records.render import collection_to_proto

UPDATABLE = ("fields", "indexes", "rules")


class CollectionsServicer(collections_pb2_grpc.CollectionsServiceServicer):
    def __init__(self, catalog: Catalog, executor: DatabaseExecutor) -> None:
        self._catalog = catalog
        self._executor = executor

    async def CreateCollection(
        self, request: collections_pb2.CreateCollectionRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.Collection:
        spec = to_spec(request.collection)
        return collection_to_proto(await self._executor.run(self._catalog.create, spec))

    async def GetCollection(
        self, request: collections_pb2.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.Collection:
        return collection_to_proto(await self._executor.run(self._catalog.get, request.name))

    async def ListCollections(
        self, request: collections_pb2.ListCollectionsRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.ListCollectionsResponse:
        """Collections by name; the page token is the last name of the previous page."""
        limit = page_size(request.page_size)
        if request.page_token:
            check_name(request.page_token, "page_token")
        specs = await self._executor.run(self._catalog.all)
        rest = [spec for spec in specs if spec.name > request.page_token]
        page = rest[:limit]
        return collections_pb2.ListCollectionsResponse(
            collections=[collection_to_proto(spec) for spec in page],
            next_page_token=page[-1].name if len(rest) > limit else "",
        )

    async def UpdateCollection(
        self, request: collections_pb2.UpdateCollectionRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.Collection:
        parts = set(request.update_mask.paths) or set(UPDATABLE)
        unknown = parts - set(UPDATABLE)
        if unknown:
            raise InvalidArgument.field(
                "update_mask", f"cannot update {', '.join(sorted(unknown))}; only {UPDATABLE}"
            )
        spec = to_spec(request.collection)
        updated = await self._executor.run(
            self._catalog.update, spec, parts, request.collection.etag
        )
        return collection_to_proto(updated)

    async def DeleteCollection(
        self, request: collections_pb2.DeleteCollectionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._executor.run(self._catalog.delete, request.name, request.etag, request.force)
        return empty_pb2.Empty()
