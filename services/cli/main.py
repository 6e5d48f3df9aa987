"""`joist serve <service>` runs one service in the foreground (what each Kubernetes Deployment
runs); `joist run` starts them all under a supervisor, with an embedded NATS when
`JOIST_NATS_URL` is not set; `joist token --service NAME` prints a service token (roles
`service`, subject `service:NAME`) signed with the private key, for internal callers;
`joist createsuperuser --email EMAIL` creates an admin (or makes a user one) in the records
database, like Django's command."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from services.common.auth import SERVICE
from services.common.config import Config, ConfigError, load_config
from services.common.logs import configure_logging
from services.common.tokens import TokenIssuer


def _service_entry(name: str) -> Callable[[Config], Coroutine[Any, Any, None]]:
    if name == "gateway":
        from services.gateway.service import serve
    elif name == "records":
        from services.records.service import serve
    elif name == "notifier":
        from services.notifier.service import serve
    else:
        from services.scheduler.service import serve
    return serve


SERVICES = ("records", "notifier", "scheduler", "gateway")
SERVICE_TOKEN_TTL = 90 * 86400  # seconds; mint a new one and update the Secret before then


def _service_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", text):
        raise argparse.ArgumentTypeError("use lowercase letters, digits, '_' and '-'")
    return text


def _seconds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of seconds, 1 or more")
    return int(text)


def _service_token(config: Config, service: str, ttl: int) -> str:
    issuer = TokenIssuer.from_config(config.auth)
    token, _ = issuer.issue(f"service:{service}", {SERVICE}, ttl=timedelta(seconds=ttl))
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="joist", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=SERVICES)
    commands.add_parser("run", help="run every service (and NATS) on this machine")
    token = commands.add_parser("token", help="print a service token for an internal caller")
    token.add_argument("--service", required=True, type=_service_name, help="the caller's name")
    token.add_argument(
        "--ttl",
        type=_seconds,
        default=SERVICE_TOKEN_TTL,
        help=f"lifetime in seconds (default {SERVICE_TOKEN_TTL}: 90 days)",
    )
    superuser = commands.add_parser(
        "createsuperuser",
        help="create an admin or make a user one (password: JOIST_SUPERUSER_PASSWORD or a prompt)",
    )
    superuser.add_argument("--email", required=True, help="the admin's email address")
    args = parser.parse_args(argv)
    try:
        config = load_config()
        if args.command == "serve":
            configure_logging(args.service, config.log.level)
            asyncio.run(_service_entry(args.service)(config))
            return 0
        if args.command == "token":
            print(_service_token(config, args.service, args.ttl))
            return 0
        if args.command == "createsuperuser":
            from services.records import superuser

            return superuser.main(config, args.email)
        from services.cli.supervisor import Supervisor

        return Supervisor(config, SERVICES).run()
    except ConfigError as exc:
        print(f"joist: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
