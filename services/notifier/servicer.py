"""NotificationsService over gRPC: reads the notification log and requeues dead ones."""

from __future__ import annotations

import grpc

from joist.v1 import notifications_pb2, notifications_pb2_grpc
from services.common.database import DatabaseExecutor
from services.notifier.render import to_proto
from services.notifier.repository import NotificationsRepository


class NotificationsServicer(notifications_pb2_grpc.NotificationsServiceServicer):
    def __init__(self, repository: NotificationsRepository, executor: DatabaseExecutor) -> None:
        self._repository = repository
        self._executor = executor

    async def GetNotification(
        self, request: notifications_pb2.GetNotificationRequest, context: grpc.aio.ServicerContext
    ) -> notifications_pb2.Notification:
        return to_proto(await self._executor.run(self._repository.get, request.id))

    async def ListNotifications(
        self,
        request: notifications_pb2.ListNotificationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> notifications_pb2.ListNotificationsResponse:
        rows, token = await self._executor.run(
            self._repository.list, request.page_size, request.page_token, request.filter
        )
        return notifications_pb2.ListNotificationsResponse(
            notifications=[to_proto(row) for row in rows], next_page_token=token
        )

    async def RetryNotification(
        self,
        request: notifications_pb2.RetryNotificationRequest,
        context: grpc.aio.ServicerContext,
    ) -> notifications_pb2.Notification:
        row = await self._executor.run(self._repository.request_retry, request.id)
        return to_proto(row)
