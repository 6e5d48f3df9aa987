"""Throwaway PostgreSQL databases on 127.0.0.1:5432 (trust auth), dropped afterwards.

PostgreSQL is production's database: when it is not there, this fails loudly, never skips.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg2

ADMIN_DSN = os.environ.get("JOIST_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres")


def _admin() -> psycopg2.extensions.connection:
    try:
        connection = psycopg2.connect(ADMIN_DSN + " dbname=postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is required for the tests ({ADMIN_DSN}); start it: {exc}"
        ) from exc
    connection.autocommit = True
    return connection


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """Yields the URL of a new, empty database; drops it afterwards."""
    name = f"joist_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
