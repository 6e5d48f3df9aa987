"""StatementCache on a real SQLite database: a statement is rendered once per key, a failed
build keeps nothing, the oldest statement makes room, and a kept statement runs as built."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import peewee
import pytest

from services.common.database import open_database
from services.common.statements import StatementCache


class Item(peewee.Model):
    name = peewee.TextField()
    rank = peewee.IntegerField()


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(f"sqlite:///{tmp_path / 'items.db'}")
    database.bind([Item])
    database.create_tables([Item])
    Item.insert_many([{"name": f"n{i}", "rank": i} for i in range(5)]).execute()
    yield database
    database.close()


def test_a_statement_is_built_once_per_key_and_runs_as_built(db: peewee.Database):
    cache = StatementCache()
    builds: list[int] = []

    def above(rank: int):
        def build() -> peewee.Query:
            builds.append(rank)
            return Item.select(Item.name).where(Item.rank > rank).order_by(Item.rank)

        return build

    first = cache.get((Item, 2), above(2))
    assert cache.get((Item, 2), above(2)) is first
    other = cache.get((Item, 0), above(0))
    assert builds == [2, 0]
    assert [row[0] for row in db.execute_sql(*first).fetchall()] == ["n3", "n4"]
    assert [row[0] for row in db.execute_sql(*other).fetchall()] == ["n1", "n2", "n3", "n4"]
    Item.create(name="n9", rank=9)
    assert [row[0] for row in db.execute_sql(*first).fetchall()] == ["n3", "n4", "n9"]


def test_a_failed_build_keeps_nothing():
    cache = StatementCache()
    calls = 0

    def failing() -> peewee.Query:
        nonlocal calls
        calls += 1
        raise ValueError("bad filter")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad filter"):
            cache.get("key", failing)
    assert calls == 2
    assert len(cache) == 0


def test_the_oldest_statement_makes_room():
    cache = StatementCache(size=2)
    for rank in range(3):
        cache.get(rank, lambda rank=rank: Item.select().where(Item.rank == rank))
    assert len(cache) == 2
    rebuilt: list[int] = []
    cache.get(0, lambda: rebuilt.append(0) or Item.select())
    cache.get(2, lambda: rebuilt.append(2) or Item.select())
    assert rebuilt == [0]  # 0 was dropped, 2 is still kept


def test_a_cache_needs_room_for_one_statement():
    with pytest.raises(ValueError, match="at least one"):
        StatementCache(size=0)


def test_threads_share_a_cache_that_keeps_evicting():
    """Reads without the lock while other threads add and drop (PostgreSQL lists run on the
    thread pool): every statement comes back as built for its key, none is lost to a race."""
    cache = StatementCache(size=8)

    def work(offset: int) -> list[bool]:
        checks = []
        for i in range(2000):
            rank = (i * 7 + offset) % 40
            sql, params = cache.get(rank, lambda rank=rank: Item.select().where(Item.rank == rank))
            checks.append(params == (rank,) and "WHERE" in sql)
        return checks

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    assert all(all(checks) for checks in results)
    assert len(cache) == 8
