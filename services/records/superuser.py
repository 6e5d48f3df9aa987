"""`joist createsuperuser --email EMAIL`: creates an admin, or makes an existing user one, in
the database the records service uses (`records.database_url`), like Django's command.

The password comes from `JOIST_SUPERUSER_PASSWORD` when it is set (scripts, Kubernetes Jobs),
else from a prompt, asked twice.
"""

from __future__ import annotations

import getpass
import os
import sys

from services.common.config import Config
from services.common.database import open_database
from services.common.errors import JoistError
from services.records.users import User, Users, check_password

PASSWORD_ENV = "JOIST_SUPERUSER_PASSWORD"


def read_password() -> str:
    """The password from the environment, else typed twice at a prompt."""
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    while True:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            print("The passwords differ; try again.")
            continue
        return check_password(first, "password")


def create_superuser(config: Config, email: str, password: str) -> tuple[User, bool]:
    """Creates or promotes the admin; True when created."""
    db = open_database(config.records.database_url, pool_size=1)
    try:
        users = Users.from_config(db, config.auth)
        with db.connection_context():
            db.create_tables(users.tables(), safe=True)
            return users.make_admin(email, password)
    finally:
        getattr(db, "close_all", db.close)()


def main(config: Config, email: str) -> int:
    """The command: reads the password, creates or promotes, says which."""
    try:
        user, created = create_superuser(config, email, read_password())
    except JoistError as exc:
        print(f"joist createsuperuser: {exc.message}", file=sys.stderr)
        return 2
    print(f"{'created' if created else 'promoted'} admin {user.email} ({user.id})")
    return 0
