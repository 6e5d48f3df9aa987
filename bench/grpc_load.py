"""A gRPC load generator in its own process, the counterpart of `wrk` for the gRPC paths.

    python -m bench.grpc_load --target 127.0.0.1:PORT --call get --id ID --concurrency 16

`--concurrency` tasks on one `grpc.aio` channel each send the next call as soon as the last one
is answered (what wrk's connections do), for `--warmup` seconds and then for `--duration`
seconds; the calls answered in the second window are counted and their latencies kept. It
prints one JSON line: {"calls", "seconds", "p50_ms", "p99_ms", "total_calls"} (the last
counting the warm-up too, to share out CPU time). Any failed call stops it with an error.
`--authorization` is sent as the `authorization` metadata of every call (records reads need a
signed-in caller). With `--pause S`, each task waits a random time (exponential, mean S seconds)
after each answer before its next call: N tasks together then send calls at random times, about
N / S per second, the load at which `bench/gateway.py` compares latencies below saturation.

Calls: `create`, `get` and `list` (a page of 50) on records' `contact_messages`, and `echo`: a
bare unary method on the server of `bench/echo.py`, bytes in and out, no protobuf.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import struct_pb2

from bench.common import percentile
from bench.echo import ECHO_METHOD
from joist.v1 import records_pb2, records_pb2_grpc

COLLECTION = "contact_messages"
PAGE_SIZE = 50
CALL_TIMEOUT = 10.0  # seconds
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
CONTACT = {"name": "Bench Client", "email": "bench@example.com", "message": "Hello from the bench."}

Call = Callable[[], Awaitable[object]]


def create_request() -> records_pb2.CreateRecordRequest:
    data = struct_pb2.Struct()
    data.update(CONTACT)
    return records_pb2.CreateRecordRequest(collection=COLLECTION, data=data)


def make_call(channel: grpc.aio.Channel, name: str, record_id: str, authorization: str) -> Call:
    """The call `name`, with its request built once (wrk too sends one request over and over)."""
    metadata = (("authorization", authorization),) if authorization else ()
    if name == "echo":
        echo = channel.unary_unary(ECHO_METHOD)
        payload = create_request().SerializeToString()
        return lambda: echo(payload, timeout=CALL_TIMEOUT, metadata=metadata)
    stub = records_pb2_grpc.RecordsServiceStub(channel)
    if name == "create":
        create = create_request()
        return lambda: stub.CreateRecord(create, timeout=CALL_TIMEOUT, metadata=metadata)
    if name == "get":
        get = records_pb2.GetRecordRequest(collection=COLLECTION, id=record_id)
        return lambda: stub.GetRecord(get, timeout=CALL_TIMEOUT, metadata=metadata)
    page = records_pb2.ListRecordsRequest(collection=COLLECTION, page_size=PAGE_SIZE)
    return lambda: stub.ListRecords(page, timeout=CALL_TIMEOUT, metadata=metadata)


async def run_load(
    call: Call, concurrency: int, warmup: float, duration: float, pause: float = 0.0
) -> dict:
    """Keeps `concurrency` calls in flight (each task pausing a random time of mean `pause`
    seconds between calls when `pause` is set); measures the window after the warm-up."""
    began = time.perf_counter()
    start, stop = began + warmup, began + warmup + duration
    latencies: list[float] = []
    total = 0

    async def worker() -> None:
        nonlocal total
        while (sent := time.perf_counter()) < stop:
            await call()
            answered = time.perf_counter()
            total += 1
            if sent >= start and answered <= stop:
                latencies.append(answered - sent)
            if pause:
                await asyncio.sleep(random.expovariate(1 / pause))

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return {
        "calls": len(latencies),
        "seconds": duration,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "total_calls": total,
    }


async def main_async(args: argparse.Namespace) -> dict:
    async with grpc.aio.insecure_channel(args.target, options=CHANNEL_OPTIONS) as channel:
        await asyncio.wait_for(channel.channel_ready(), CALL_TIMEOUT)
        call = make_call(channel, args.call, args.id, args.authorization)
        return await run_load(call, args.concurrency, args.warmup, args.duration, args.pause)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, help="host:port of the gRPC server")
    parser.add_argument("--call", choices=("create", "get", "list", "echo"), required=True)
    parser.add_argument("--id", default="", help="the record that `get` reads")
    parser.add_argument("--authorization", default="", help="e.g. 'Bearer <token>'")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, not measured")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="mean seconds each task waits between calls"
    )
    print(json.dumps(asyncio.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
