"""`joist serve gateway` with another HTTP parser or event loop, to compare server options.

    python -P bench/gateway_server.py --http h11 --loop uvloop

It runs the gateway exactly as `joist serve gateway` does (same configuration from the
environment, same wiring in services/gateway/service.py) and changes only uvicorn's `http`
implementation and the event loop that `asyncio.run` creates. Run as a script, so the stack
can start it from any folder, with `-P` so that bench/ (whose http.py would shadow the
standard library's) is not put first on sys.path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import uvicorn

from services.cli.main import main as joist_main


def _with_http(http: str) -> None:
    """Makes every uvicorn.Config built from now on use the `http` implementation."""
    original = uvicorn.Config

    def config(app: Any, **options: Any) -> uvicorn.Config:
        return original(app, **{**options, "http": http})

    uvicorn.Config = config  # type: ignore[misc]  # service.py reads it as uvicorn.Config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    _with_http(args.http)
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return joist_main(["serve", "gateway"])


if __name__ == "__main__":
    sys.exit(main())
