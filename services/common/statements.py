"""SQL of Peewee queries that are built again and again from the same inputs, kept once built.

Peewee builds a query as a tree of Python objects and renders it to SQL on every execution:
for a page of records (a select with a sort, a limit and a filter) that takes about as long as
SQLite takes to run it. A `StatementCache` keeps the rendered SQL and parameters by a key that
names everything the query depends on, as SQLAlchemy's compiled cache does, so a repeated query
(the first page of a list, a page polled again) costs a dictionary look-up:

    sql, params = statements.get((model, filter_text, order_by, after, limit), build)
    cursor = db.execute_sql(sql, params)

The key must start with the model class: a schema change builds a new one, so no statement
outlives the columns it names. At most `size` statements are kept, the oldest dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import peewee

Statement = tuple[str, tuple[Any, ...]]


class StatementCache:
    """Rendered `(sql, params)` of queries by key; safe to share between threads."""

    def __init__(self, size: int = 1024) -> None:
        if size < 1:
            raise ValueError("a statement cache holds at least one statement")
        self._size = size
        # an OrderedDict drops its oldest in constant time (a dict popped from the front again
        # and again scans the holes left there)
        self._statements: OrderedDict[Hashable, Statement] = OrderedDict()
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._statements)

    def get(self, key: Hashable, build: Callable[[], peewee.Query]) -> Statement:
        """The statement of `key`, rendered from `build()` the first time. An error raised
        while building (a bad filter, say) is raised again the next time: nothing is kept."""
        found = self._statements.get(key)
        if found is not None:
            return found
        sql, params = build().sql()
        statement = (sql, tuple(params))
        with self._guard:
            if len(self._statements) >= self._size:
                self._statements.popitem(last=False)
            self._statements[key] = statement
        return statement
