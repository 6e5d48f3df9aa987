"""Database access: dropped PostgreSQL connections are replaced, an unreachable database is
UNAVAILABLE (never INTERNAL), and SQLite writers of one process queue instead of failing."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

import peewee
import psycopg2
import pytest

from services.common.database import (
    DatabaseExecutor,
    after_commit,
    bind,
    open_database,
    write_transaction,
)
from services.common.errors import InvalidArgument, Unavailable
from tests.support.postgres import ADMIN_DSN, throwaway_database


def _terminate_connections(database: str) -> None:
    admin = psycopg2.connect(ADMIN_DSN + " dbname=postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
    admin.close()


async def test_a_connection_the_server_dropped_is_replaced():
    with throwaway_database() as url:
        db = open_database(url, pool_size=1)
        executor = DatabaseExecutor(db, workers=1)
        try:
            backend = await executor.run(lambda: db.execute_sql("SELECT pg_backend_pid()"))
            first = backend.fetchone()[0]
            _terminate_connections(url.rsplit("/", 1)[1])
            await asyncio.sleep(0.2)
            backend = await executor.run(lambda: db.execute_sql("SELECT pg_backend_pid()"))
            assert backend.fetchone()[0] != first
        finally:
            executor.close()


async def test_an_unreachable_database_is_unavailable(tmp_path: Path):
    db = open_database("postgresql://postgres@127.0.0.1:1/nothing")
    executor = DatabaseExecutor(db, workers=1)
    try:
        with pytest.raises(Unavailable):
            await executor.run(lambda: db.execute_sql("SELECT 1"))
    finally:
        executor.close()


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path):
    db = open_database(f"sqlite:///{tmp_path}/w.db")

    class Counter(peewee.Model):
        value = peewee.IntegerField()

        class Meta:
            database = db

    db.create_tables([Counter])
    Counter.create(value=0)

    def bump() -> None:
        for _ in range(50):
            with write_transaction(db):
                row = Counter.get()  # read, then write: the pattern that deadlocks deferred txns
                Counter.update(value=row.value + 1).execute()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter.get().value == 400


def _durability(db: peewee.Database) -> str:
    if isinstance(db, peewee.SqliteDatabase):
        return str(db.execute_sql("PRAGMA synchronous").fetchone()[0])  # 2: FULL, 1: NORMAL
    return db.execute_sql("SHOW synchronous_commit").fetchone()[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_transaction_that_need_not_be_durable_commits_and_the_next_one_is(
    backend: str, tmp_path: Path
):
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path}/d.db"
            if backend == "sqlite"
            else stack.enter_context(throwaway_database())
        )
        db = stack.enter_context(contextlib.closing(open_database(url, pool_size=1)))
        model = bind(Item, db)
        db.create_tables([model])
        durable = _durability(db)
        assert durable in ("2", "on")
        seen = []
        with write_transaction(db, durable=False):
            model.create(name="relaxed")
            seen.append(_durability(db))
        with write_transaction(db):
            seen.append(_durability(db))
            model.create(name="durable")
        assert seen == ["1" if backend == "sqlite" else "off", durable]
        assert _durability(db) == durable
        assert sorted(row.name for row in model.select()) == ["durable", "relaxed"]


def test_unsupported_urls_are_refused():
    with pytest.raises(ValueError, match="mysql"):
        open_database("mysql://x")


# -- group commit (SQLite) ----------------------------------------------------------------------


class Item(peewee.Model):
    name = peewee.CharField(unique=True)


def _items(tmp_path: Path) -> tuple[peewee.Database, type[Item], DatabaseExecutor]:
    db = open_database(f"sqlite:///{tmp_path}/g.db")
    model = bind(Item, db)
    db.create_tables([model])
    return db, model, DatabaseExecutor(db, workers=2)


def _add(db: peewee.Database, model: type[Item], name: str, committed: list[str]) -> str:
    """A write unit as the repositories write them: its own write_transaction, an after-commit
    callback, and an error after the insert when the name says so."""
    with write_transaction(db):
        model.create(name=name)
        after_commit(lambda: committed.append(name))
        if name.startswith("bad"):
            raise InvalidArgument.field("name", "is bad")
    return name


async def test_units_that_queue_meanwhile_commit_together(tmp_path: Path):
    db, model, executor = _items(tmp_path)
    commits = []
    db.commit = _counting(db.commit, commits)  # type: ignore[method-assign]
    committed: list[str] = []
    try:
        names = [f"n{i}" for i in range(40)]
        results = await asyncio.gather(
            *(executor.write(_add, db, model, n, committed) for n in names)
        )
        assert results == names
        assert sorted(committed) == sorted(names)
        assert sorted(row.name for row in model.select()) == sorted(names)
        assert 1 <= len(commits) < len(names) / 2  # groups, not one commit per unit
    finally:
        executor.close()


async def test_a_failing_unit_is_rolled_back_alone(tmp_path: Path):
    db, model, executor = _items(tmp_path)
    committed: list[str] = []
    try:
        outcomes = await asyncio.gather(
            executor.write(_add, db, model, "a", committed),
            executor.write(_add, db, model, "bad", committed),  # raises after its insert
            executor.write(_add, db, model, "a", committed),  # the unique name again
            executor.write(_add, db, model, "b", committed),
            return_exceptions=True,
        )
        assert outcomes[0] == "a" and outcomes[3] == "b"
        assert isinstance(outcomes[1], InvalidArgument)
        assert isinstance(outcomes[2], peewee.IntegrityError)
        assert sorted(row.name for row in model.select()) == ["a", "b"]
        assert sorted(committed) == ["a", "b"]  # no callback of a rolled-back unit
    finally:
        executor.close()


async def test_a_unit_whose_caller_left_before_its_group_is_dropped(tmp_path: Path):
    db, model, executor = _items(tmp_path)
    committed: list[str] = []
    try:
        # two units: a group of several commits on a thread, so more can queue meanwhile
        first = [
            asyncio.ensure_future(executor.write(_add, db, model, name, committed))
            for name in ("first", "second")
        ]
        await asyncio.sleep(0)  # their group starts
        left = asyncio.ensure_future(executor.write(_add, db, model, "left", committed))
        await asyncio.sleep(0)
        left.cancel()
        assert await asyncio.gather(*first) == ["first", "second"]
        assert await executor.write(_add, db, model, "after", committed) == "after"
        assert sorted(row.name for row in model.select()) == ["after", "first", "second"]
    finally:
        executor.close()


def _add_noting_thread(
    db: peewee.Database, model: type[Item], name: str, threads: list[str]
) -> str:
    threads.append(threading.current_thread().name)
    return _add(db, model, name, [])


async def test_a_lone_write_commits_on_the_event_loop_and_a_group_on_a_thread(tmp_path: Path):
    db, model, executor = _items(tmp_path)
    loop_thread = threading.current_thread().name
    alone: list[str] = []
    grouped: list[str] = []
    committed: list[str] = []
    try:
        assert await executor.write(_add_noting_thread, db, model, "alone", alone) == "alone"
        assert alone == [loop_thread]
        await asyncio.gather(
            *(executor.write(_add_noting_thread, db, model, f"g{i}", grouped) for i in range(3))
        )
        assert len(grouped) == 3 and loop_thread not in grouped
        assert await executor.write(_add, db, model, "callback", committed) == "callback"
        assert committed == ["callback"]  # after-commit callbacks run on the loop too
        slow: list[str] = []
        assert await executor.write(_add_noting_thread, db, model, "slow", slow, quick=False)
        assert len(slow) == 1 and slow[0] != loop_thread  # a long unit: on a thread, alone
        names = sorted(row.name for row in model.select())
        assert names == ["alone", "callback", "g0", "g1", "g2", "slow"]
    finally:
        executor.close()


async def test_a_lone_write_waits_on_a_thread_while_another_writer_holds_the_lock(
    tmp_path: Path,
):
    db, model, executor = _items(tmp_path)
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with write_transaction(db):
            model.create(name="other")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=other_writer)
    holder.start()
    threads: list[str] = []
    try:
        assert holding.wait(10)
        write = asyncio.ensure_future(
            executor.write(_add_noting_thread, db, model, "mine", threads)
        )
        await asyncio.sleep(0.05)  # the event loop is not blocked by the lock meanwhile
        assert not write.done()
        release.set()
        assert await write == "mine"
        assert threads and threads[0] != threading.current_thread().name
        assert sorted(row.name for row in model.select()) == ["mine", "other"]
    finally:
        release.set()
        holder.join()
        executor.close()


async def test_a_database_error_fails_the_group_as_unavailable(tmp_path: Path):
    db, model, executor = _items(tmp_path)
    committed: list[str] = []

    def broken() -> None:
        with write_transaction(db):
            db.execute_sql("INSERT INTO no_such_table VALUES (1)")

    try:
        outcomes = await asyncio.gather(
            executor.write(_add, db, model, "a", committed),
            executor.write(broken),
            return_exceptions=True,
        )
        assert all(isinstance(outcome, Unavailable) for outcome in outcomes)
        assert list(model.select()) == [] and committed == []
        assert await executor.write(_add, db, model, "b", committed) == "b"  # and it recovers
        with pytest.raises(Unavailable):  # alone, on the event loop: the same
            await executor.write(broken)
        assert await executor.write(_add, db, model, "c", committed) == "c"
        assert sorted(row.name for row in model.select()) == ["b", "c"]
    finally:
        executor.close()


def _counting(commit: Any, calls: list[None]) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        return commit(*args, **kwargs)

    return counted
