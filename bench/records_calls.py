"""Records' CPU time per call, with an admin token, straight over gRPC (no gateway).

    python -m bench.records_calls [--calls create get list] [--concurrency 16] [--duration 10]

Starts nats-server and `joist serve records` (SQLite in a temporary folder; `--log-level`
sets JOIST_LOG_LEVEL, WARNING by default as in the tests), creates the stack's admin, seeds 60
contact messages, then for each call runs `bench/grpc_load.py`'s load in this process, every
call carrying the admin's `authorization` metadata (so the token check and the user's
`is_active` look-up are paid as in production): calls/s, p50, p99 and records' CPU ms per call
(from `/proc/<pid>/stat` around the row, shared over every call made, warm-up included).
Each row's progress line names records' pid, for `py-spy record --pid PID` under a long
`--duration`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from bench.common import local_stack, progress, run_to_the_end, table
from bench.gateway import SEED_RECORDS, process_cpu
from bench.grpc_load import CALL_TIMEOUT, CHANNEL_OPTIONS, make_call, run_load
from tests.support.stack import Stack

CALLS = ("create", "get", "list")


async def seed(channel: grpc.aio.Channel, authorization: str) -> str:
    """Creates SEED_RECORDS contact messages; returns the id of the first."""
    create = make_call(channel, "create", "", authorization)
    first: Any = await create()
    for _ in range(SEED_RECORDS - 1):
        await create()
    return first.id


async def measure(stack: Stack, args: argparse.Namespace) -> list[list[str]]:
    pid = stack.processes["records"].pid
    authorization = stack.bearer()["authorization"]
    target = stack.grpc_target("records")
    rows = []
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        await asyncio.wait_for(channel.channel_ready(), CALL_TIMEOUT)
        record_id = await seed(channel, authorization)
        for call in args.calls:
            progress(f"{call} at concurrency {args.concurrency} (records pid {pid})")
            before = process_cpu(pid)
            result = await run_load(
                make_call(channel, call, record_id, authorization),
                args.concurrency,
                args.warmup,
                args.duration,
            )
            cpu_ms = 1000 * (process_cpu(pid) - before) / result["total_calls"]
            rate = result["calls"] / result["seconds"]
            rows.append(
                [
                    call,
                    f"{rate:.0f}",
                    f"{result['p50_ms']:.1f}",
                    f"{result['p99_ms']:.1f}",
                    f"{cpu_ms:.3f}",
                ]
            )
    return rows


def run(args: argparse.Namespace) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="joist-bench-") as folder:
        stack = local_stack(Path(folder), {"JOIST_LOG_LEVEL": args.log_level})
        try:
            stack.create_admin()
            stack.nats.start()
            stack.start_service("records")
            stack.wait_serving("records", 30)
            return asyncio.run(measure(stack, args))
        finally:
            stack.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", nargs="+", choices=CALLS, default=list(CALLS))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each row")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row")
    parser.add_argument("--log-level", default="WARNING", help="records' JOIST_LOG_LEVEL")
    args = parser.parse_args(argv)
    rows = run_to_the_end(lambda: run(args))
    header = ["call", "calls/s", "p50 ms", "p99 ms", "records cpu ms/call"]
    print(f"records over gRPC, admin token, concurrency {args.concurrency}, SQLite\n")
    print(table(header, rows))


if __name__ == "__main__":
    main()
