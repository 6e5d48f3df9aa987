"""Database access: dropped PostgreSQL connections are replaced, an unreachable database is
UNAVAILABLE (never INTERNAL), and SQLite writers of one process queue instead of failing."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import peewee
import psycopg2
import pytest

from services.common.database import DatabaseExecutor, open_database, write_transaction
from services.common.errors import Unavailable
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


def test_unsupported_urls_are_refused():
    with pytest.raises(ValueError, match="mysql"):
        open_database("mysql://x")
