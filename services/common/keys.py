"""Per-database secrets, such as the key that signs page tokens.

`stored_key(db, name)` keeps a 32-byte random secret in the table `joist_keys` of the service's
own database, creating the table and the key on first use. Every replica of a service shares
its database, so they all sign and check with the same key. The first caller inserts
(insert-if-absent, so concurrent first callers on SQLite or PostgreSQL agree on one key), and
everyone reads the stored value back; a process then remembers it for that `db` object.
"""

from __future__ import annotations

import secrets
import threading
import weakref

import peewee

from services.common.database import write_transaction

KEY_SIZE = 32

_known: weakref.WeakKeyDictionary[peewee.Database, dict[str, bytes]] = weakref.WeakKeyDictionary()
_known_guard = threading.Lock()


def _key_model(db: peewee.Database) -> type[peewee.Model]:
    class StoredKey(peewee.Model):
        name = peewee.CharField(primary_key=True, max_length=100)
        value = peewee.BlobField()

        class Meta:
            database = db
            table_name = "joist_keys"

    return StoredKey


def stored_key(db: peewee.Database, name: str) -> bytes:
    """The secret called `name` in `db`, made (32 random bytes) by whoever asks first."""
    with _known_guard:
        known = _known.setdefault(db, {})
        if name in known:
            return known[name]
    model = _key_model(db)
    try:
        with write_transaction(db):
            model.create_table(safe=True)
    except (peewee.IntegrityError, peewee.ProgrammingError):
        if not model.table_exists():  # else PostgreSQL: a concurrent CREATE TABLE came first
            raise
    with write_transaction(db):
        model.insert(name=name, value=secrets.token_bytes(KEY_SIZE)).on_conflict_ignore().execute()
    value = bytes(model.get_by_id(name).value)
    with _known_guard:
        return known.setdefault(name, value)
