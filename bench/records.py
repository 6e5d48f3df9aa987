"""Records benchmark: create throughput against the raw Peewee ceiling, and list latency on a
collection of a million rows, on SQLite and on PostgreSQL.

    make bench-records                    # or, from the repository root:
    .venv/bin/python -m bench.records     # --quick (smoke run), --rows N, --backend sqlite

For each database (a SQLite file in a temporary folder, then a throwaway PostgreSQL database on
127.0.0.1:5432, see tests/support/postgres.py) it starts nats-server and `joist serve records`
as child processes (the tests' Stack via bench/common.py, records only, its default settings:
8 DB workers), defines three collections of one shape through CollectionsService (an indexed
INTEGER `score`, a TEXT `title`) and measures:

1. Creates, 16 at a time: CreateRecord over gRPC (`grpc.aio`, straight to records, no gateway),
   one record per call, with p50/p99, and BatchCreateRecords (1000 per call, one at a time).
   Then, with records stopped, from this process on the same database, 16 threads of the
   service's own DatabaseExecutor running `RecordsRepository.create` (the service's code
   without gRPC and the relay: validation, the record row and its outbox event in one write
   transaction) and raw Peewee, one `Model.create` per `write_transaction` on the model the
   catalog builds: the ceiling. With the bulk `insert_many` rate of the fill, and the ratios.
2. Fill, records still stopped: `--rows` rows (1,000,000 by default) inserted straight into a
   collection's table with Peewee `insert_many`, 1000 rows a statement and 100,000 a
   transaction, never through gRPC: time-ordered UUIDv7 ids (services.common.ids.new_id), a
   random `score`, a short `title`. PostgreSQL then gets the ANALYZE autovacuum would soon run
   (timed apart); SQLite gets none, as in production. Records is stopped because on SQLite
   writes back to back from another process starve its outbox relay of the write lock past
   the busy timeout, and a relay that fails on "database is locked" stops the records process.
3. Lists over gRPC, records started again, one call at a time, page_size 50: the first page,
   and page 200 reached by walking page tokens (keyset pagination: it should cost what the
   first page costs); the first and the next page of `id > "<id of the row at 90%>"`; a window
   of 1% of `score` values sorted by `score`, first and next page. p50/p99 of each. Keyset
   paging is "flat" when page 200, the last pages of the walk and the first page after the
   `id >` filter all cost within FLAT (2x) of the first ones: a page's cost does not depend on
   how many rows come after it.

The load average is printed with the figures: other work on the machine skews them. Every
process started here is stopped, and the PostgreSQL database dropped, on the way out (also on
errors, Ctrl-C and SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import peewee
from google.protobuf import json_format, struct_pb2

from bench.common import local_stack, ms, percentile, progress, run_to_the_end, table
from bench.contact import Load, measure_load
from bench.grpc_load import CHANNEL_OPTIONS
from joist.v1 import collections_pb2, collections_pb2_grpc, records_pb2, records_pb2_grpc
from services.common.auth import SERVICE, Caller
from services.common.database import DatabaseExecutor, open_database, write_transaction
from services.common.ids import new_id
from services.common.outbox import OutboxRow, outbox_model
from services.common.pagination import PageTokens
from services.common.timestamps import utc_now
from services.records.catalog import Catalog
from services.records.models import RecordRow, attribute, field_column
from services.records.repository import MAX_BATCH, RecordsRepository
from tests.support.postgres import throwaway_database
from tests.support.stack import Stack

BACKENDS = ("sqlite", "postgresql")
CREATES = "bench_creates"  # CreateRecord and BatchCreateRecords, through the service
DIRECT = "bench_direct"  # the repository and raw Peewee, from this process
ITEMS = "bench_items"  # filled in bulk, then listed
FIELDS = [
    {"name": "score", "type": "INTEGER"},
    {"name": "title", "type": "TEXT", "maxLength": 200},
]
INDEXES = [{"fields": ["score"]}]
CONCURRENCY = 16
SCORE_RANGE = 1_000_000  # scores are drawn from 0 .. SCORE_RANGE - 1
WINDOW = SCORE_RANGE // 100  # a filtered list asks for 1% of the score range
PAGE_SIZE = 50
DEEP_FRACTION = 0.9  # `id > "<id of the row at 90%>"`
DEEP_LABEL = f'id > "<row {DEEP_FRACTION:.0%}>"'
FILL_CHUNK = 1000  # rows per insert_many statement: 6,000 variables, within SQLite's 32,766
FILL_TRANSACTION = 100_000  # rows per transaction
FLAT = 2.0  # keyset paging is flat while deep pages cost within 1/FLAT .. FLAT x the first
MIN_SAMPLES = 5  # a list measurement stops at its count or budget, but never before this
CALL_TIMEOUT = 60.0  # seconds, per gRPC call
DRAIN_TIMEOUT = 120.0  # seconds, for the service's relay to empty its outbox
BENCH_CALLER = Caller("bench", frozenset({SERVICE}))  # the in-process repository's caller


@dataclass(frozen=True)
class Settings:
    rows: int = 1_000_000  # in the listed collection
    creates: int = 3000  # per create path, after `warmup`
    warmup: int = 200
    batches: int = 20  # BatchCreateRecords calls of MAX_BATCH records
    samples: int = 200  # per list measurement...
    sample_budget: float = 20.0  # ...unless they take longer than this many seconds
    walk: int = 200  # the page reached by walking tokens
    seed: int = 7


QUICK = Settings(rows=20_000, creates=300, warmup=30, batches=3, samples=30, walk=20)


# --- the service, over gRPC -------------------------------------------------------------------


def random_item(rng: random.Random) -> dict[str, Any]:
    return {"score": rng.randrange(SCORE_RANGE), "title": f"bench item {rng.randrange(10**9)}"}


def as_struct(data: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


class Client:
    """The records service's two gRPC APIs, as this benchmark calls them."""

    def __init__(self, channel: grpc.aio.Channel, rng: random.Random, authorization: str) -> None:
        self.metadata = (("authorization", authorization),)  # the collections are admin-only
        self.records = records_pb2_grpc.RecordsServiceStub(channel)
        self.collections = collections_pb2_grpc.CollectionsServiceStub(channel)
        self.rng = rng

    async def define(self, name: str) -> None:
        collection = json_format.ParseDict(
            {"name": name, "fields": FIELDS, "indexes": INDEXES}, collections_pb2.Collection()
        )
        request = collections_pb2.CreateCollectionRequest(collection=collection)
        await self.collections.CreateCollection(
            request, timeout=CALL_TIMEOUT, metadata=self.metadata
        )

    async def create(self) -> None:
        data = as_struct(random_item(self.rng))
        request = records_pb2.CreateRecordRequest(collection=CREATES, data=data)
        await self.records.CreateRecord(request, timeout=CALL_TIMEOUT, metadata=self.metadata)

    async def batch_create(self) -> None:
        requests = [
            records_pb2.CreateRecordRequest(data=as_struct(random_item(self.rng)))
            for _ in range(MAX_BATCH)
        ]
        request = records_pb2.BatchCreateRecordsRequest(collection=CREATES, requests=requests)
        await self.records.BatchCreateRecords(request, timeout=CALL_TIMEOUT, metadata=self.metadata)

    async def list(
        self, token: str = "", filter_text: str = "", order_by: str = ""
    ) -> records_pb2.ListRecordsResponse:
        request = records_pb2.ListRecordsRequest(
            collection=ITEMS,
            page_size=PAGE_SIZE,
            page_token=token,
            filter=filter_text,
            order_by=order_by,
        )
        reply: records_pb2.ListRecordsResponse = await self.records.ListRecords(
            request, timeout=CALL_TIMEOUT, metadata=self.metadata
        )
        if not reply.records:
            raise RuntimeError(f"an empty page for filter={filter_text!r} token={token!r}")
        return reply


# --- the same database, from this process -------------------------------------------------------


def scratch_outbox(db: peewee.Database) -> type[OutboxRow]:
    """A table of the outbox's shape that no relay reads, for the in-process repository's events
    (the service's relay would publish and delete rows written to `joist_outbox`)."""
    meta = type("Meta", (), {"database": db, "table_name": "bench_outbox"})
    return type("BenchOutbox", (OutboxRow,), {"Meta": meta})


def insert_row(model: type[RecordRow], data: dict[str, Any]) -> None:
    """One row in its own write transaction, with the system columns the repository sets."""
    now = utc_now()
    with write_transaction(model._meta.database):
        model.create(
            id=new_id(),
            create_time=now,
            update_time=now,
            owner="",
            request_id=None,
            **{attribute(name): value for name, value in data.items()},
        )


@dataclass(frozen=True)
class Fill:
    rows: int
    seconds: float
    marker: str  # the id of the row at DEEP_FRACTION
    analyze_seconds: float | None  # PostgreSQL only

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def fill(model: type[RecordRow], rows: int, rng: random.Random) -> tuple[float, str]:
    """Bulk-inserts `rows` rows; returns the seconds it took and the id of the row at 90%."""
    db = model._meta.database
    columns = [model.id, model.create_time, model.update_time, model.owner]
    columns += [field_column(model, "score"), field_column(model, "title")]
    marker_at = int(rows * DEEP_FRACTION)
    marker = ""
    done = 0
    started = time.perf_counter()
    while done < rows:
        end = min(done + FILL_TRANSACTION, rows)
        with write_transaction(db):
            while done < end:
                now = utc_now()
                batch = [
                    (new_id(), now, now, "", rng.randrange(SCORE_RANGE), f"bench item {n}")
                    for n in range(done, min(done + FILL_CHUNK, end))
                ]
                if done <= marker_at < done + len(batch):
                    marker = batch[marker_at - done][0]
                model.insert_many(batch, fields=columns).execute()
                done += len(batch)
        if done % 100_000 == 0 or done == rows:
            progress(f"filled {done:,} of {rows:,} rows in {time.perf_counter() - started:.0f}s")
    return time.perf_counter() - started, marker


class Direct:
    """This process's own connection to the service's database: the service's executor (16
    threads), the catalog's models, and a repository whose events go to a scratch table."""

    def __init__(self, url: str) -> None:
        self.db = open_database(url, pool_size=CONCURRENCY)
        self.executor = DatabaseExecutor(self.db, CONCURRENCY)
        self.catalog = Catalog(self.db, {})  # no RELATION fields: no system tables needed
        self.repository = RecordsRepository(
            self.db, self.catalog, scratch_outbox(self.db), PageTokens(secrets.token_bytes(32))
        )
        self.outbox = outbox_model(self.db)  # the service's, to wait until its relay is done
        self.models: dict[str, type[RecordRow]] = {}

    @property
    def postgres(self) -> bool:
        return not isinstance(self.db, peewee.SqliteDatabase)

    async def prepare(self) -> None:
        """Creates the scratch outbox and takes the models of the collections just defined."""
        await self.executor.run(scratch_outbox(self.db).create_table)
        for name in (DIRECT, ITEMS):
            self.models[name] = (await self.executor.run(self.catalog.resolve, name))[1]

    async def drain(self) -> None:
        """Waits until the service's relay has published (and deleted) every outbox row, so
        that the next phase does not share the database with it."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while await self.executor.run(self.outbox.select().count) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the outbox is not empty after {DRAIN_TIMEOUT:.0f}s")
            await asyncio.sleep(0.2)

    async def repository_create(self, rng: random.Random) -> None:
        create = partial(self.repository.create, caller=BENCH_CALLER)
        await self.executor.run(create, DIRECT, random_item(rng))

    async def raw_create(self, rng: random.Random) -> None:
        await self.executor.run(insert_row, self.models[DIRECT], random_item(rng))

    async def fill(self, rows: int, rng: random.Random) -> Fill:
        model = self.models[ITEMS]
        seconds, marker = await self.executor.run(fill, model, rows, rng)
        analyzed = None
        if self.postgres:
            started = time.perf_counter()
            await self.executor.run(self.db.execute_sql, f'ANALYZE "{model._meta.table_name}"')
            analyzed = time.perf_counter() - started
        return Fill(rows, seconds, marker, analyzed)

    def close(self) -> None:
        self.executor.close()
        self.db.close()


# --- measurements -------------------------------------------------------------------------------


async def timed(call: Callable[[], Awaitable[Any]], count: int, budget: float) -> Load:
    """`count` calls one at a time, fewer (but MIN_SAMPLES at least) past `budget` seconds."""
    latencies: list[float] = []
    began = time.perf_counter()
    while len(latencies) < count and (
        len(latencies) < MIN_SAMPLES or time.perf_counter() - began < budget
    ):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return Load(1, latencies, time.perf_counter() - began)


def walked_label(pages: int) -> str:
    return f"page {pages} (walked by token)"


async def walk(client: Client, pages: int) -> tuple[list[float], str]:
    """Lists pages 1 .. pages-1 following the tokens; their latencies, and page `pages`' token."""
    latencies: list[float] = []
    token = ""
    for _ in range(pages - 1):
        started = time.perf_counter()
        reply = await client.list(token)
        latencies.append(time.perf_counter() - started)
        token = reply.next_page_token
    return latencies, token


async def score_windows(client: Client, settings: Settings) -> tuple[Load, Load]:
    """First and next page of random 1% windows of `score`, sorted by score."""
    firsts: list[float] = []
    nexts: list[float] = []
    rng = random.Random(settings.seed)
    began = time.perf_counter()
    while len(firsts) < settings.samples and (
        len(firsts) < MIN_SAMPLES or time.perf_counter() - began < settings.sample_budget
    ):
        low = rng.randrange(SCORE_RANGE - WINDOW)
        query = f"score >= {low} AND score < {low + WINDOW}"
        started = time.perf_counter()
        reply = await client.list(filter_text=query, order_by="score")
        middle = time.perf_counter()
        await client.list(reply.next_page_token, filter_text=query, order_by="score")
        firsts.append(middle - started)
        nexts.append(time.perf_counter() - middle)
    elapsed = time.perf_counter() - began
    return Load(1, firsts, elapsed), Load(1, nexts, elapsed)


@dataclass(frozen=True)
class Result:
    backend: str
    creates: dict[str, Load]  # path -> load, CONCURRENCY at a time
    batches: Load  # one BatchCreateRecords call at a time
    fill: Fill
    lists: dict[str, Load]  # query -> load, one call at a time
    walk: list[float]  # pages 1 .. walk-1
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


@contextlib.asynccontextmanager
async def connect(stack: Stack, seed: int) -> AsyncIterator[Client]:
    target = stack.grpc_target("records")
    async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        yield Client(channel, random.Random(seed), stack.bearer()["authorization"])


async def measure_service(stack: Stack, direct: Direct, settings: Settings) -> tuple[Load, Load]:
    """Defines the collections; CreateRecord CONCURRENCY at a time, then BatchCreateRecords one
    call at a time; waits for the relay to publish every event after each."""
    async with connect(stack, settings.seed) as client:
        for name in (CREATES, DIRECT, ITEMS):
            await client.define(name)
        progress(f"service creates: {settings.creates} at concurrency {CONCURRENCY}")
        await measure_load(client.create, CONCURRENCY, settings.warmup)
        creates = await measure_load(client.create, CONCURRENCY, settings.creates)
        await direct.drain()
        progress(f"BatchCreateRecords: {settings.batches} calls of {MAX_BATCH}")
        await client.batch_create()  # warm-up
        batches = await measure_load(client.batch_create, 1, settings.batches)
        await direct.drain()
    return creates, batches


async def measure_direct(direct: Direct, settings: Settings) -> tuple[dict[str, Load], Fill]:
    """The repository and raw Peewee CONCURRENCY at a time, then the fill; the service is
    stopped meanwhile, so these measure the database alone."""
    await direct.prepare()
    rng = random.Random(settings.seed)
    paths = {
        "repository": partial(direct.repository_create, rng),
        "raw": partial(direct.raw_create, rng),
    }
    loads: dict[str, Load] = {}
    for path, create in paths.items():
        progress(f"{path} creates: {settings.creates} at concurrency {CONCURRENCY}")
        await measure_load(create, CONCURRENCY, settings.warmup)
        loads[path] = await measure_load(create, CONCURRENCY, settings.creates)
    progress(f"fill: {settings.rows:,} rows into {ITEMS}")
    return loads, await direct.fill(settings.rows, rng)


async def measure_lists(
    stack: Stack, marker: str, settings: Settings
) -> tuple[dict[str, Load], list[float]]:
    samples, budget = settings.samples, settings.sample_budget
    pages = min(settings.walk, settings.rows // PAGE_SIZE)
    lists: dict[str, Load] = {}
    async with connect(stack, settings.seed) as client:
        progress("list: first page")
        await client.list()  # warm-up
        lists["first page"] = await timed(client.list, samples, budget)
        progress(f"list: walking {pages} pages")
        walked, token = await walk(client, pages)
        lists[walked_label(pages)] = await timed(lambda: client.list(token), samples, budget)
        progress("list: deep, reached by a filter on id")
        deep = f'id > "{marker}"'
        reply = await client.list(filter_text=deep)
        lists[f"{DEEP_LABEL}, 1st page"] = await timed(
            lambda: client.list(filter_text=deep), samples, budget
        )
        lists[f"{DEEP_LABEL}, next page"] = await timed(
            lambda: client.list(reply.next_page_token, filter_text=deep), samples, budget
        )
        progress("list: score windows")
        first, following = await score_windows(client, settings)
    lists["score 1% window by score, 1st"] = first
    lists["score 1% window by score, next"] = following
    return lists, walked


def stop_records(stack: Stack) -> None:
    code = stack.stop_service("records")
    if code != 0:
        raise RuntimeError(f"records exited with {code} (before it was asked to stop?)")


def measure(backend: str, stack: Stack, url: str, settings: Settings) -> Result:
    """Service creates; then, with records stopped, the in-process creates and the fill; then,
    with records started again, the lists."""
    load_before = os.getloadavg()
    direct = Direct(url)
    try:
        creates, batches = asyncio.run(measure_service(stack, direct, settings))
        progress("stopping records while this process writes")
        stop_records(stack)
        in_process, filled = asyncio.run(measure_direct(direct, settings))
        progress("starting records again for the lists")
        stack.start_service("records")
        stack.wait_serving("records", 30)
        lists, walked = asyncio.run(measure_lists(stack, filled.marker, settings))
    finally:
        direct.close()
    return Result(
        backend,
        {"service": creates, **in_process},
        batches,
        filled,
        lists,
        walked,
        load_before,
        os.getloadavg(),
    )


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of `backend`, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/records.db"
    else:
        with throwaway_database() as url:
            yield url


def run(backend: str, settings: Settings) -> Result:
    """Starts nats-server and records on a new database, measures, and stops both."""
    with (
        tempfile.TemporaryDirectory(prefix=f"joist-bench-{backend}-") as folder,
        database(backend, Path(folder)) as url,
        contextlib.ExitStack() as cleanup,
    ):
        stack = local_stack(Path(folder), {"JOIST_RECORDS_DATABASE_URL": url})
        cleanup.callback(stack.stop)
        progress(f"{backend}: starting nats-server and records")
        stack.create_admin()  # whose token the gRPC calls carry
        stack.nats.start()
        stack.start_service("records")
        try:
            stack.wait_serving("records", 30)
            return measure(backend, stack, url, settings)
        except Exception:
            print(f"--- records.log (tail) ---\n{stack.log('records')}", file=sys.stderr)
            raise


# --- the report ---------------------------------------------------------------------------------

PATHS = {
    "service": "CreateRecord over gRPC (service)",
    "repository": "repository.create in this process",
    "raw": "raw Peewee, 1 row per transaction",
}


def creates_report(results: Sequence[Result], settings: Settings) -> str:
    rows = []
    for r in results:
        for path, load in r.creates.items():
            rows.append(
                [
                    f"{r.backend:<11}{PATHS[path]}",
                    f"{CONCURRENCY}",
                    str(len(load.latencies)),
                    f"{load.throughput:.0f}",
                    ms(load.p50),
                    ms(load.p99),
                ]
            )
        b = r.batches
        rows.append(
            [
                f"{r.backend:<11}BatchCreateRecords, {MAX_BATCH}/call",
                "1",
                str(len(b.latencies) * MAX_BATCH),
                f"{b.throughput * MAX_BATCH:.0f}",
                ms(b.p50),
                ms(b.p99),
            ]
        )
        rows.append(
            [
                f"{r.backend:<11}raw insert_many, {FILL_CHUNK}/statement (fill)",
                "1",
                str(r.fill.rows),
                f"{r.fill.rate:.0f}",
                "-",
                "-",
            ]
        )
    ratios = []
    for r in results:
        service, repository, raw = (r.creates[p].throughput for p in PATHS)
        ratios.append(
            [
                r.backend,
                f"{service / raw:.2f}",
                f"{service / repository:.2f}",
                f"{repository / raw:.2f}",
                f"{r.batches.throughput * MAX_BATCH / r.fill.rate:.2f}",
                f"{r.fill.rate / raw:.0f}x",
            ]
        )
    return "\n\n".join(
        [
            f"Creates: {settings.creates} per path after {settings.warmup} warm-up; latency per "
            "call (a batch call holds 1000 records). The service runs its default 8 DB workers; "
            f"this process uses {CONCURRENCY} threads.",
            table(["backend    path", "conc", "rows", "rows/s", "p50 ms", "p99 ms"], rows),
            "Throughput ratios",
            table(
                [
                    "backend",
                    "service/raw",
                    "service/repository",
                    "repository/raw",
                    "batch/bulk",
                    "bulk vs raw 1-row",
                ],
                ratios,
            ),
        ]
    )


def fill_report(results: Sequence[Result]) -> str:
    rows = [
        [
            r.backend,
            f"{r.fill.rows:,}",
            f"{r.fill.seconds:.1f}",
            f"{r.fill.rate:,.0f}",
            "-" if r.fill.analyze_seconds is None else f"{r.fill.analyze_seconds:.1f}",
        ]
        for r in results
    ]
    return "\n\n".join(
        [
            f"Fill of {ITEMS} (insert_many, {FILL_CHUNK} rows/statement, "
            f"{FILL_TRANSACTION:,} rows/transaction, score index in place)",
            table(["backend", "rows", "seconds", "rows/s", "ANALYZE s"], rows),
        ]
    )


def lists_report(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        first = r.lists["first page"]
        for query, load in r.lists.items():
            rows.append(
                [
                    f"{r.backend:<11}{query}",
                    str(len(load.latencies)),
                    ms(load.p50),
                    ms(load.p99),
                    f"{load.p50 / first.p50:.2f}x",
                ]
            )
    walks = []
    for r in results:
        part = min(max(len(r.walk) // 10, 5), len(r.walk))
        first = r.lists["first page"].p50
        deep = r.lists[walked_label(len(r.walk) + 1)].p50
        after = r.lists[f"{DEEP_LABEL}, 1st page"].p50
        early, late = percentile(r.walk[:part], 50), percentile(r.walk[-part:], 50)
        ratios = (late / early, deep / first, after / first)
        walks.append(
            [
                r.backend,
                str(len(r.walk)),
                f"{sum(r.walk):.1f}",
                f"pages 1-{part}: {ms(early)}",
                f"pages {len(r.walk) - part + 1}-{len(r.walk)}: {ms(late)}",
                f"{late / early:.2f}x",
                f"{deep / first:.2f}x",
                f"{after / first:.2f}x",
                "yes" if all(1 / FLAT <= x <= FLAT for x in ratios) else "NO",
            ]
        )
    return "\n\n".join(
        [
            f"ListRecords over gRPC, page_size {PAGE_SIZE}, one call at a time "
            "(vs 1st = p50 / p50 of the first page)",
            table(["backend    query", "n", "p50 ms", "p99 ms", "vs 1st"], rows),
            "The walk by page token (pages 1 .. N-1, each once; page N is measured above)",
            table(
                [
                    "backend",
                    "pages",
                    "total s",
                    "p50 ms, first pages",
                    "p50 ms, last pages",
                    "last/first",
                    "walked page/1st",  # p50s, the page measured after the walk
                    "id>90%/1st",
                    "flat",
                ],
                walks,
            ),
        ]
    )


def load_report(results: Sequence[Result]) -> str:
    def fmt(load: tuple[float, float, float]) -> str:
        return " ".join(f"{x:.2f}" for x in load)

    rows = [[r.backend, fmt(r.load_before), fmt(r.load_after)] for r in results]
    return "Load average (1, 5, 15 min) on this machine\n\n" + table(
        ["backend", "before", "after"], rows
    )


def environment() -> str:
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"grpcio {grpc.__version__}, peewee {peewee.__version__}"
    )


def arguments(argv: Sequence[str] | None = None) -> tuple[Settings, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.records", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--rows", type=int, help="rows in the listed collection (1,000,000)")
    parser.add_argument(
        "--backend", choices=BACKENDS, action="append", help="only this database (repeatable)"
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.rows is not None:
        if args.rows < QUICK.rows:
            parser.error(f"--rows must be at least {QUICK.rows:,}")
        settings = replace(settings, rows=args.rows)
    return settings, args.backend or list(BACKENDS)


def main(argv: Sequence[str] | None = None) -> None:
    began = time.monotonic()
    settings, backends = arguments(argv)
    results = run_to_the_end(lambda: [run(backend, settings) for backend in backends])
    print(f"Joist records benchmark, {settings.rows:,} rows listed\n{environment()}\n")
    print(creates_report(results, settings) + "\n")
    print(fill_report(results) + "\n")
    print(lists_report(results) + "\n")
    print(load_report(results) + "\n")
    print(f"total wall time {time.monotonic() - began:.1f}s (start and stop included)")


if __name__ == "__main__":
    main()
