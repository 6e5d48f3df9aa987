"""`joist serve <service>` runs one service in the foreground (what each Kubernetes Deployment
runs); `joist run` starts them all under a supervisor, with an embedded NATS when
`JOIST_NATS_URL` is not set."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from services.common.config import Config, ConfigError, load_config
from services.common.logs import configure_logging


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="joist", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=SERVICES)
    commands.add_parser("run", help="run every service (and NATS) on this machine")
    args = parser.parse_args(argv)
    try:
        config = load_config()
        if args.command == "serve":
            configure_logging(args.service, config.log.level)
            asyncio.run(_service_entry(args.service)(config))
            return 0
        from services.cli.supervisor import Supervisor

        return Supervisor(config, SERVICES).run()
    except ConfigError as exc:
        print(f"joist: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
