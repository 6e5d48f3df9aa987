"""CollectionsService over gRPC: checks definitions, and runs catalog work off the event loop."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from joist.v1 import collections_pb2, collections_pb2_grpc
from services.common.database import DatabaseExecutor
from services.common.errors import InvalidArgument
from services.common.filtering import ValueKind
from services.common.ordering import SortKey
from services.common.pagination import PageTokens, page_size
from services.records.catalog import Catalog, CollectionRow
from services.records.definitions import to_spec
from services.records.render import collection_to_proto

UPDATABLE = ("fields", "indexes", "rules")
BY_NAME = [SortKey("name", CollectionRow.name, ValueKind.STRING, descending=False)]


class CollectionsServicer(collections_pb2_grpc.CollectionsServiceServicer):
    def __init__(self, catalog: Catalog, executor: DatabaseExecutor, tokens: PageTokens) -> None:
        self._catalog = catalog
        self._executor = executor
        self._tokens = tokens

    async def CreateCollection(
        self, request: collections_pb2.CreateCollectionRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.Collection:
        spec = to_spec(request.collection)
        return collection_to_proto(await self._executor.run(self._catalog.create, spec))

    async def GetCollection(
        self, request: collections_pb2.GetCollectionRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.Collection:
        return collection_to_proto(await self._executor.read(self._catalog.get, request.name))

    async def ListCollections(
        self, request: collections_pb2.ListCollectionsRequest, context: grpc.aio.ServicerContext
    ) -> collections_pb2.ListCollectionsResponse:
        """Collections by name, a page at a time (signed page tokens, as for records)."""
        limit = page_size(request.page_size)
        after = self._tokens.decode(request.page_token, BY_NAME, "collections")
        specs = await self._executor.read(self._catalog.all)
        rest = [spec for spec in specs if after is None or spec.name > after[0]]
        page = rest[:limit]
        more = len(rest) > limit
        return collections_pb2.ListCollectionsResponse(
            collections=[collection_to_proto(spec) for spec in page],
            next_page_token=self._tokens.encode(BY_NAME, [page[-1].name], "collections")
            if more
            else "",
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
