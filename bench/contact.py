"""Contact Us benchmark: POST throughput and latency, and POST-to-email-delivered latency.

    make bench-contact            # or, from the repository root:
    .venv/bin/python -m bench.contact

It starts a whole Joist on this machine (nats-server and the four services as child
processes, SQLite databases in a temporary folder, the notifier's SMTP provider aimed at a local
sink) and measures:

1. `POST /v1/collections/contact_messages/records` through the gateway at concurrency 1 and 8:
   throughput and p50/p99 latency over a fixed number of requests after a warm-up.
2. The baseline: the same create sent straight to records over gRPC (`grpc.aio`), same levels
   and counts; the report gives gateway/direct ratios and the p50 the gateway adds. The two
   are interleaved per level and the email backlog is drained before each phase, so both see
   the same background: every create also sends an email, as it does in production.
3. POST-to-email latency: a client posts a message carrying a unique token and waits until the
   sink receives the email that carries it; one client at a time, then 8 clients each looping.
   Both ends are `time.monotonic()` in this process. The first-third vs last-third p50 shows
   whether latency keeps growing under load.

Everything listens on 127.0.0.1, the request counts and the whole run are bounded, and every
process started here is stopped on the way out (also on errors, Ctrl-C and SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import struct_pb2

from bench.common import (
    dump_logs,
    local_stack,
    ms,
    percentile,
    progress,
    run_to_the_end,
    table,
)
from bench.http import JsonPoster
from joist.v1 import records_pb2, records_pb2_grpc
from tests.support.smtp import Received, SmtpSink
from tests.support.stack import Stack

COLLECTION = "contact_messages"
CREATE_PATH = f"/v1/collections/{COLLECTION}/records"
CONCURRENCY_LEVELS = (1, 8)
WARMUP_REQUESTS = 50
MEASURED_REQUESTS = 400
SEQUENTIAL_EMAILS = 100
EMAIL_CLIENTS = 8
EMAILS_PER_CLIENT = 30
REQUEST_TIMEOUT = 10.0  # seconds, per POST or gRPC call
EMAIL_TIMEOUT = 15.0  # seconds, from a POST to its email
DRAIN_TIMEOUT = 90.0  # seconds, for the notifier to catch up between phases
RUN_BUDGET = 150.0  # seconds, for all measurements together (a run takes ~40-60)
TOKEN = re.compile(r"bench-token-([0-9a-f]{32})")

Create = Callable[[], Awaitable[None]]


def contact_message(token: str = "") -> dict[str, str]:
    text = f"Hello from the benchmark, bench-token-{token}." if token else "Hello from the bench."
    return {"name": "Bench Client", "email": "bench@example.com", "message": text}


# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """Latencies (seconds) of `count` calls made `concurrency` at a time in `elapsed` seconds."""

    concurrency: int
    latencies: list[float]
    elapsed: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


@dataclass(frozen=True)
class EmailSample:
    """Monotonic times of one round trip: POST sent, POST answered, email received."""

    started: float
    answered: float
    delivered: float

    @property
    def post(self) -> float:
        return self.answered - self.started

    @property
    def email(self) -> float:
        return self.delivered - self.started


# --- the SMTP sink, with a waiter per token -----------------------------------------------------


class TokenSink(SmtpSink):
    """The tests' SMTP sink, plus asyncio waiters keyed by the token in each email's body.

    aiosmtpd delivers on its own thread; `add` hands each message to the event loop, where all
    the bookkeeping lives. `Received.at` is stamped at delivery, so a late wake-up of the loop
    does not show in the measurements.
    """

    def __init__(self) -> None:
        super().__init__()
        self.delivered = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, asyncio.Future[Received]] = {}
        self._arrived = asyncio.Event()

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def add(self, received: Received) -> None:
        super().add(received)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(self._on_delivery, received)

    def expect(self, token: str) -> asyncio.Future[Received]:
        """A future for the email that carries `token`; call it before sending the POST."""
        future = asyncio.get_running_loop().create_future()
        self._waiters[token] = future
        return future

    async def drain(self, count: int) -> None:
        """Waits until `count` emails in all have arrived (the notifier has caught up)."""
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                while self.delivered < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{self.delivered} of {count} emails after {DRAIN_TIMEOUT:.0f}s"
            ) from None

    def _on_delivery(self, received: Received) -> None:
        self.delivered += 1
        self._arrived.set()
        found = TOKEN.search(received.body)
        future = self._waiters.pop(found.group(1), None) if found else None
        if future is not None and not future.done():
            future.set_result(received)


# --- load: one loop for every way of creating a record -----------------------------------------


async def measure_load(create: Create, concurrency: int, count: int) -> Load:
    """Makes `count` calls of `create`, `concurrency` at a time; the first error stops all."""
    latencies: list[float] = []
    remaining = iter(range(count))  # shared: each worker takes the next call until none is left

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await create()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return Load(concurrency, latencies, time.perf_counter() - started)


class Creates:
    """The two ways to create a contact message; counts creates so the emails can be awaited."""

    def __init__(self, client: JsonPoster, stub: records_pb2_grpc.RecordsServiceStub):
        self._client = client
        self._stub = stub
        self.count = 0

    async def gateway(self) -> None:
        await self._client.post(CREATE_PATH, contact_message())
        self.count += 1

    async def direct(self) -> None:
        data = struct_pb2.Struct()
        data.update(contact_message())
        request = records_pb2.CreateRecordRequest(collection=COLLECTION, data=data)
        await self._stub.CreateRecord(request, timeout=REQUEST_TIMEOUT)
        self.count += 1


async def measure_creates(creates: Creates, sink: TokenSink) -> dict[tuple[str, int], Load]:
    """Gateway and direct gRPC at each level, interleaved, each after a drain and a warm-up."""
    results: dict[tuple[str, int], Load] = {}
    for concurrency in CONCURRENCY_LEVELS:
        for path, create in (("direct", creates.direct), ("gateway", creates.gateway)):
            progress(f"POST {path} at concurrency {concurrency}")
            await sink.drain(creates.count)
            await measure_load(create, concurrency, WARMUP_REQUESTS)
            results[path, concurrency] = await measure_load(create, concurrency, MEASURED_REQUESTS)
    await sink.drain(creates.count)
    return results


# --- POST-to-email ------------------------------------------------------------------------------


async def email_round_trip(client: JsonPoster, sink: TokenSink) -> EmailSample:
    token = uuid.uuid4().hex
    arrival = sink.expect(token)
    started = time.monotonic()
    await client.post(CREATE_PATH, contact_message(token))
    answered = time.monotonic()
    received = await asyncio.wait_for(arrival, EMAIL_TIMEOUT)
    return EmailSample(started, answered, received.at)


async def measure_emails(
    client: JsonPoster, sink: TokenSink, clients: int, rounds: int
) -> list[EmailSample]:
    """`clients` clients, each posting and waiting for its own email `rounds` times; the samples
    come back in the order they were started."""
    samples: list[EmailSample] = []

    async def one_client() -> None:
        for _ in range(rounds):
            samples.append(await email_round_trip(client, sink))

    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(one_client())
    return sorted(samples, key=lambda sample: sample.started)


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    creates: dict[tuple[str, int], Load]
    sequential: list[EmailSample]
    concurrent: list[EmailSample]


async def measure(stack: Stack, sink: TokenSink) -> Results:
    sink.attach(asyncio.get_running_loop())
    options = [("grpc.enable_http_proxy", 0)]
    size = max(EMAIL_CLIENTS, *CONCURRENCY_LEVELS)
    client = JsonPoster("127.0.0.1", stack.http_port, size, REQUEST_TIMEOUT)
    try:
        async with grpc.aio.insecure_channel(
            stack.grpc_target("records"), options=options
        ) as channel:
            creates = Creates(client, records_pb2_grpc.RecordsServiceStub(channel))
            loads = await measure_creates(creates, sink)
            progress(f"POST-to-email, one at a time, {SEQUENTIAL_EMAILS} samples")
            sequential = await measure_emails(client, sink, 1, SEQUENTIAL_EMAILS)
            progress(f"POST-to-email, {EMAIL_CLIENTS} clients x {EMAILS_PER_CLIENT} samples")
            concurrent = await measure_emails(client, sink, EMAIL_CLIENTS, EMAILS_PER_CLIENT)
            return Results(loads, sequential, concurrent)
    finally:
        await client.close()
        sink.attach(None)


async def measure_within_budget(stack: Stack, sink: TokenSink) -> Results:
    budget = asyncio.timeout(RUN_BUDGET)
    try:
        async with budget:
            return await measure(stack, sink)
    except TimeoutError:
        if budget.expired():
            raise TimeoutError(f"stopped: the measurements took over {RUN_BUDGET:.0f}s") from None
        raise


def configured_stack(workdir: Path, sink: TokenSink) -> Stack:
    return local_stack(
        workdir,
        {
            "JOIST_NOTIFIER_EMAIL_PROVIDER": "smtp",
            "JOIST_NOTIFIER_SMTP_HOST": "127.0.0.1",
            "JOIST_NOTIFIER_SMTP_PORT": str(sink.port),
            "JOIST_NOTIFIER_ADMIN_EMAIL": "admin@example.com",
            "JOIST_SCHEDULER_HEARTBEAT_EVERY": "1h",
        },
    )


def run() -> Results:
    """Starts the sink and the stack, measures, and stops both whatever happens."""
    with (
        tempfile.TemporaryDirectory(prefix="joist-bench-") as folder,
        contextlib.ExitStack() as cleanup,
    ):
        sink = TokenSink()
        sink.start()
        cleanup.callback(sink.stop)
        stack = configured_stack(Path(folder), sink)
        cleanup.callback(stack.stop)
        try:
            progress("starting nats-server and the four services")
            stack.start()
            return asyncio.run(measure_within_budget(stack, sink))
        except Exception:
            dump_logs(stack)
            raise


# --- the report ---------------------------------------------------------------------------------


def creates_report(loads: dict[tuple[str, int], Load]) -> str:
    figures = [
        [path, str(c), f"{load.throughput:.0f}", ms(load.p50), ms(load.p99)]
        for (path, c), load in loads.items()
    ]
    ratios = []
    for c in CONCURRENCY_LEVELS:
        gateway, direct = loads["gateway", c], loads["direct", c]
        ratios.append(
            [
                str(c),
                f"{gateway.throughput / direct.throughput:.2f}x",
                f"{(gateway.p50 - direct.p50) * 1000:+.1f}",
                f"{gateway.p50 / direct.p50:.2f}x",
                f"{gateway.p99 / direct.p99:.2f}x",
            ]
        )
    return "\n\n".join(
        [
            f"POST create: {MEASURED_REQUESTS} requests per row after {WARMUP_REQUESTS} warm-up "
            "(direct = gRPC straight to records)",
            table(["path", "conc", "req/s", "p50 ms", "p99 ms"], figures),
            table(
                ["conc", "req/s gw/direct", "added p50 ms", "p50 gw/direct", "p99 gw/direct"],
                ratios,
            ),
        ]
    )


def third_p50s(samples: list[EmailSample]) -> tuple[float, float]:
    third = max(len(samples) // 3, 1)
    return (
        percentile([s.email for s in samples[:third]], 50),
        percentile([s.email for s in samples[-third:]], 50),
    )


def delivery_rate(samples: list[EmailSample]) -> float:
    """Emails per second from the first POST to the last delivery."""
    span = max(s.delivered for s in samples) - min(s.started for s in samples)
    return len(samples) / span


def emails_report(sequential: list[EmailSample], concurrent: list[EmailSample]) -> str:
    rows = []
    for label, samples in (("1 client", sequential), (f"{EMAIL_CLIENTS} clients", concurrent)):
        emails = [s.email for s in samples]
        first, last = third_p50s(samples)
        rows.append(
            [
                label,
                str(len(samples)),
                f"{delivery_rate(samples):.0f}",
                ms(percentile([s.post for s in samples], 50)),
                *(ms(percentile(emails, q)) for q in (50, 90, 99)),
                ms(max(emails)),
                ms(first),
                ms(last),
            ]
        )
    ratio = percentile([s.email for s in concurrent], 50) / percentile(
        [s.email for s in sequential], 50
    )
    header = ["clients", "n", "emails/s", "POST p50", "p50", "p90", "p99", "max"]
    header += ["1st 1/3 p50", "last 1/3 p50"]
    return "\n\n".join(
        [
            "POST-to-email delivered (ms; POST p50 = until the gateway answered)",
            table(header, rows),
            f"email p50 {EMAIL_CLIENTS} clients / 1 client: {ratio:.2f}x",
        ]
    )


def environment() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"grpcio {grpc.__version__}; HTTP client: bench/http.py (keep-alive, no library)"
    )


def main() -> None:
    began = time.monotonic()
    results = run_to_the_end(run)
    print(f"Joist Contact Us benchmark\n{environment()}\n")
    print(creates_report(results.creates) + "\n")
    print(emails_report(results.sequential, results.concurrent) + "\n")
    print(f"total wall time {time.monotonic() - began:.1f}s (stack start and stop included)")


if __name__ == "__main__":
    main()
