"""The floor under any REST gateway in front of records: a gateway that does no work.

    python -m bench.null_gateway --port PORT --target HOST:PORT --call get --id ID

uvicorn with httptools on 127.0.0.1:PORT, in one process on the default event loop (as
`joist serve gateway` runs it), answers every request with one gRPC call to records on one
`grpc.aio` channel, forwarding the request's `Authorization` as metadata, and a fixed `{}`
(502 when the call fails, so that wrk reports it). The call and its request are fixed at start
(`create`, `get` or `list`, the same requests as `bench/grpc_load.py` sends): no routing, no
JSON in either direction, no rendering, no access log, no metrics. Whatever a real gateway
does per request comes on top of what this one costs, so its rate through records is the most
any gateway in Python can reach there: `bench/gateway.py` prints it beside the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

import grpc
import uvicorn

from bench.grpc_load import CHANNEL_OPTIONS, make_call

FIXED_REPLY = b"{}"
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(FIXED_REPLY)).encode()),
]


def null_app(call_of: Any) -> Any:
    """The ASGI app: `call_of(authorization)` makes the call to records."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        status = 200
        try:
            await call_of(authorization)()
        except grpc.aio.AioRpcError:
            status = 502
        await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": FIXED_REPLY})

    return app


async def serve(port: int, target: str, call: str, record_id: str) -> None:
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        calls: dict[str, Any] = {}  # by Authorization value: wrk sends one

        def call_of(authorization: str) -> Any:
            made = calls.get(authorization)
            if made is None:
                made = calls[authorization] = make_call(channel, call, record_id, authorization)
            return made

        config = uvicorn.Config(
            null_app(call_of),
            host="127.0.0.1",
            port=port,
            http="httptools",
            loop="none",
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        await uvicorn.Server(config).serve()  # until SIGTERM or SIGINT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True, help="host:port of records")
    parser.add_argument("--call", choices=("create", "get", "list"), required=True)
    parser.add_argument("--id", default="", help="the record that `get` reads")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.target, args.call, args.id))


if __name__ == "__main__":
    main()
