"""The ceiling of the gRPC benchmarks: a bare `grpc.aio` server whose one unary method returns
its request's bytes, with no protobuf, no interceptors, no health service and no work.

    python -m bench.echo --port PORT     # serves on 127.0.0.1:PORT until SIGTERM or Ctrl-C
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

import grpc

ECHO_METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def serve(port: int) -> None:
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(_echo)  # no (de)serializers: bytes as sent
    service, method = ECHO_METHOD.strip("/").split("/")
    generic = grpc.method_handlers_generic_handler(service, {method: handler})
    server.add_generic_rpc_handlers([generic])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(grace=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
