"""Database access for the services that own one (records, notifier), through Peewee.

`open_database` parses `sqlite:///path` or `postgresql://…` with `playhouse.db_url`: SQLite runs
in WAL mode with a busy timeout and full fsync; PostgreSQL gets a connection pool. Peewee is
blocking, so `DatabaseExecutor` runs each unit of work on a small thread pool (Peewee keeps one
connection per thread), and `write_transaction` takes SQLite's write lock up front
(`BEGIN IMMEDIATE`) so that concurrent writers wait instead of failing with "database is locked".
On SQLite, `DatabaseExecutor.read` runs reads on the event loop itself and
`DatabaseExecutor.write` commits the writes that queue meanwhile together (`GroupCommit`), a
lone write on the event loop too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import peewee
from playhouse import db_url
from playhouse.pool import PooledDatabase

from services.common.errors import Unavailable

T = TypeVar("T")
M = TypeVar("M", bound=peewee.Model)
log = logging.getLogger(__name__)

# busy_timeout first: switching a new file to WAL takes a lock that other connections opening it
# at the same moment must wait for, not fail on.
SQLITE_PRAGMAS = {
    "busy_timeout": 10_000,
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
}


def open_database(url: str, pool_size: int = 8) -> peewee.Database:
    """Opens (lazily) the database at `url`; creates the folder of a SQLite file."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return peewee.SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if url.startswith(("postgresql://", "postgres://")):
        pooled = "postgresql+pool://" + url.split("://", 1)[1]
        return db_url.connect(
            pooled, max_connections=pool_size, stale_timeout=300, connect_timeout=5
        )
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


_WRITE_LOCKS: weakref.WeakKeyDictionary[peewee.Database, threading.Lock] = (
    weakref.WeakKeyDictionary()
)
_WRITE_LOCKS_GUARD = threading.Lock()


def _writer_lock(db: peewee.Database) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(db, threading.Lock())


_transaction = threading.local()


def after_commit(callback: Callable[[], None]) -> None:
    """Runs `callback` in this thread once the enclosing write_transaction commits (never if it
    rolls back)."""
    callbacks = getattr(_transaction, "callbacks", None)
    if callbacks is None:
        raise RuntimeError("after_commit needs an enclosing write_transaction")
    callbacks.append(callback)


@contextlib.contextmanager
def write_transaction(db: peewee.Database, durable: bool = True) -> Iterator[None]:
    """A transaction that holds the write lock from its first statement.

    `durable=False` commits without waiting for the disk (SQLite: `synchronous=NORMAL` for that
    commit, whose WAL frames the next durable commit syncs; PostgreSQL: `synchronous_commit`
    off), for writes that may be lost to a power cut or an OS crash, never torn: a crash of the
    process alone loses nothing. The outbox relay's bookkeeping uses it; a nested transaction
    follows the outer one.

    On SQLite, writers of this process first queue on an in-process lock: SQLite's busy handler
    sleep-polls for its lock (up to 100 ms a nap), which starves waiting writers under load,
    while a queue hands the lock over at once. `BEGIN IMMEDIATE` still guards against other
    processes. Callbacks registered with `after_commit` run after the commit.
    """
    if getattr(_transaction, "callbacks", None) is not None:  # nested: the outer one commits
        if _transaction.db is not db:
            raise RuntimeError("a write_transaction inside one on another database")
        kept = len(_transaction.callbacks)
        try:
            with db.atomic():  # a savepoint
                yield
        except BaseException:
            del _transaction.callbacks[kept:]  # rolled back: nothing of it was committed
            raise
        return
    _transaction.callbacks = callbacks = []
    _transaction.db = db
    try:
        if isinstance(db, peewee.SqliteDatabase):
            with _writer_lock(db), _sqlite_sync(db, durable), db.atomic("IMMEDIATE"):
                yield
        else:
            with db.atomic():
                if not durable:
                    db.execute_sql("SET LOCAL synchronous_commit TO OFF")
                yield
    finally:
        _transaction.callbacks = _transaction.db = None
    for callback in callbacks:
        callback()


@contextlib.contextmanager
def _sqlite_sync(db: peewee.Database, durable: bool) -> Iterator[None]:
    """SQLite's `synchronous` for one transaction (it may change only outside one)."""
    if durable:
        yield
        return
    db.execute_sql("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA synchronous = {SQLITE_PRAGMAS['synchronous']}")


class DatabaseExecutor:
    """Runs blocking database work off the event loop, `workers` calls at a time.

    SQLite threads keep their connection; with a pool (PostgreSQL) each call returns its
    connection afterwards, so the pool never runs dry, and a connection the server dropped is
    discarded. A database that cannot be reached (or stays locked past the busy timeout) is
    UNAVAILABLE, which callers may retry, never INTERNAL.
    """

    def __init__(self, db: peewee.Database, workers: int) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")
        self._pooled = isinstance(db, PooledDatabase)
        self._local_reads = isinstance(db, peewee.SqliteDatabase)
        self._group = GroupCommit(self) if self._local_reads else None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(self._call, work, *args))

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """Runs read-only `work`. On SQLite it runs right here, on the event loop: a WAL reader
        never waits for writers, and a read of the page cache costs less than the hop to a
        thread and back, whose GIL hand-offs (one per row fetched) cost more CPU than the read
        itself. Over a network (PostgreSQL) it runs on the pool like any other work."""
        if self._local_reads:
            return self._call(work, *args)
        return await self.run(work, *args)

    async def write(self, work: Callable[..., T], *args: Any, quick: bool = True) -> T:
        """Runs `work`, which writes in a write_transaction. On SQLite, units that arrive while
        one commits are committed together (GroupCommit), a lone one on the event loop; a unit
        that is not `quick` (a batch of many records) runs alone on the pool, so that the loop
        never waits for it. Elsewhere each runs on the pool."""
        if self._group is None or not quick:
            return await self.run(work, *args)
        return await self._group.run(partial(work, *args))

    def call_here(self, work: Callable[..., T], *args: Any) -> T:
        """Runs `work` on the calling thread (the event loop), with the same error handling as
        work on the pool."""
        return self._call(work, *args)

    def _call(self, work: Callable[..., T], *args: Any) -> T:
        try:
            if not self._pooled:
                return work(*args)
            with self.db.connection_context():
                return work(*args)
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            log.warning("database unavailable: %s", exc)
            raise Unavailable(f"database unavailable: {str(exc).strip()}") from exc

    def close(self) -> None:
        """Waits for running work, then closes pooled connections."""
        self._pool.shutdown(wait=True)
        close_all = getattr(self.db, "close_all", None)
        if close_all is not None:
            close_all()


class GroupCommit:
    """Group commit for SQLite, whose writers take turns: the write units that queue while a
    transaction commits run together in the next one, each in its own savepoint, so the group
    shares one `BEGIN IMMEDIATE` and one fsync'd commit (and, on a thread, one hop) instead of
    one each.

    A group of one (quick) unit, when no other writer holds the lock, commits on the event loop:
    below saturation most groups are single, and a commit here (~0.5 ms, its fsync included)
    costs less than a thread's, whose every SQLite call hands the GIL to the loop and back
    (records' own time per create at 600 creates/s: p50 2.5-3.8 ms on a thread, 0.7-0.8 ms
    here). The loop waits for that commit, and the writes arriving meanwhile form the next
    group, which, being several, commits on a thread while the loop serves on.

    A unit that raises is rolled back alone (its savepoint) and gets its error; the others
    commit. A database error (the connection, the disk, the commit) fails the whole group with
    UNAVAILABLE, as it would have failed each unit alone. A unit whose caller went away (a
    cancelled call) before its group started is dropped.
    """

    def __init__(self, executor: DatabaseExecutor, max_units: int = 64) -> None:
        self._executor = executor
        self._max_units = max_units
        self._waiting: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = [(w, f) for w, f in self._waiting[: self._max_units] if not f.done()]
                del self._waiting[: self._max_units]
                if group:
                    await self._commit_group(group)
        finally:
            self._drainer = None

    async def _commit_group(
        self, group: list[tuple[Callable[[], Any], asyncio.Future[Any]]]
    ) -> None:
        works = [work for work, _ in group]
        try:
            if len(works) == 1 and not _writer_lock(self._executor.db).locked():
                outcomes = self._executor.call_here(self._commit, works)
            else:
                outcomes = await self._executor.run(self._commit, works)
        except Exception as exc:  # the group failed as a whole
            outcomes = [(False, exc)] * len(group)
        for (_, future), (ok, value) in zip(group, outcomes, strict=True):
            if not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, works: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with write_transaction(self._executor.db):
            for work in works:
                try:
                    with write_transaction(self._executor.db):
                        outcomes.append((True, work()))
                except (peewee.OperationalError, peewee.InterfaceError):
                    raise  # the database, not the unit: fails the group
                except Exception as exc:
                    outcomes.append((False, exc))
        return outcomes


def insert_row(model: type[peewee.Model], values: Mapping[str, Any]) -> None:
    """Inserts one row; `values` by field name, a field left out is NULL (defaults are not
    applied). The SQL is built once per model and each value converted by its field, as
    Peewee's insert does: building the statement with Peewee cost more than running it."""
    fields = model._meta.sorted_fields
    sql = model.__dict__.get("_insert_row_sql")
    if sql is None:
        query = model.insert_many([[None] * len(fields)], fields=fields)
        sql = model._insert_row_sql = query.sql()[0]
    model._meta.database.execute_sql(sql, [f.db_value(values.get(f.name)) for f in fields])


def bind(model: type[M], db: peewee.Database) -> type[M]:
    """A subclass of `model` bound to `db`, with the same table (each service, and each test,
    binds the shared table definitions to its own database)."""
    meta = type("Meta", (), {"database": db, "table_name": model._meta.table_name})
    return type(model.__name__, (model,), {"Meta": meta})
