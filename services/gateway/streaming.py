"""Server-streaming RPCs as Server-Sent Events.

The first message is awaited before answering: a call that fails before it gets the usual
HTTP error status and Status body. Then the answer is a 200 `text/event-stream` with one
`data:` event per message (its proto3 JSON on one line). A failure after that cannot change the
status any more, so it is sent as an `event: error` whose data is the `google.rpc.Status` JSON,
and the stream ends; a stream that ends without that event completed. When the client goes
away, the upstream call is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from services.gateway.errors import from_rpc_error, status_body
from services.gateway.headers import metadata_headers
from services.gateway.reply import Reply
from services.gateway.routes import Route
from services.gateway.transcode import render_response

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def relay_events(
    call: grpc.aio.UnaryStreamCall, route: Route, reply: Reply, receive: Receive
) -> grpc.aio.AioRpcError | None:
    """Relays `call` to the client. Raises the AioRpcError of a call that fails before its
    first message (nothing is sent then); returns the one that ended the stream after it."""
    message = await call.read()
    await reply.start_events(metadata_headers(await call.initial_metadata()))
    watcher = asyncio.create_task(_cancel_when_gone(receive, call))
    ended_by = None
    try:
        while message is not grpc.aio.EOF:
            await reply.event(render_response(route, message))
            message = await call.read()
    except grpc.aio.AioRpcError as error:
        ended_by = error
        await reply.event(from_rpc_error(error)[1], b"error")
    except asyncio.CancelledError:
        if not call.cancelled() or _being_cancelled():
            raise
        return None  # the client went away: nobody to tell
    except Exception:  # e.g. a message that cannot be written as JSON
        log.exception("stream of %s failed", route.method.full_name)
        call.cancel()
        await reply.event(status_body(grpc.StatusCode.INTERNAL, "internal error"), b"error")
    finally:
        watcher.cancel()
    await reply.end()
    return ended_by


async def _cancel_when_gone(receive: Receive, call: grpc.aio.UnaryStreamCall) -> None:
    """Once the request body has been read, the next message is the client's disconnect."""
    while (await receive())["type"] != "http.disconnect":
        continue
    call.cancel()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
