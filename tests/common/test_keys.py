"""Per-database secrets on SQLite and on a throwaway PostgreSQL database: made once, shared by
every replica, even when replicas ask for the first time at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import peewee

from services.common.database import open_database
from services.common.keys import KEY_SIZE, stored_key


def _close(db: peewee.Database) -> None:
    getattr(db, "close_all", db.close)()


def test_a_key_is_made_once_and_read_back(database_url: str):
    db = open_database(database_url, pool_size=2)
    key = stored_key(db, "page_tokens")
    assert len(key) == KEY_SIZE and isinstance(key, bytes)
    assert stored_key(db, "page_tokens") == key
    assert stored_key(db, "other") != key
    replica = open_database(database_url, pool_size=2)  # another process, in effect
    assert stored_key(replica, "page_tokens") == key
    rows = db.execute_sql("SELECT name FROM joist_keys ORDER BY name").fetchall()
    assert [row[0] for row in rows] == ["other", "page_tokens"]
    _close(db)
    _close(replica)


def test_replicas_asking_at_once_agree_on_one_key(database_url: str):
    replicas = [open_database(database_url, pool_size=2) for _ in range(6)]
    # SQLite: the first connection turns the new file to WAL, which needs it alone.
    replicas[0].connect()
    replicas[0].close()
    start = threading.Barrier(len(replicas))

    def first_ask(db: peewee.Database) -> bytes:
        start.wait()
        return stored_key(db, "page_tokens")

    with ThreadPoolExecutor(len(replicas)) as pool:
        keys = list(pool.map(first_ask, replicas))
    assert len(set(keys)) == 1
    for db in replicas:
        _close(db)


def test_each_database_has_its_own_key(tmp_path):
    first = open_database(f"sqlite:///{tmp_path}/one.db")
    second = open_database(f"sqlite:///{tmp_path}/two.db")
    assert stored_key(first, "page_tokens") != stored_key(second, "page_tokens")
    first.close()
    second.close()
