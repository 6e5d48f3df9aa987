"""What the benchmarks share: a Joist stack on 127.0.0.1 without proxies, percentiles, the
report's tables, progress lines, and a run that SIGTERM or Ctrl-C unwinds (exit status 130)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tests.support.stack import SERVICES, Stack

T = TypeVar("T")

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy")


def local_stack(workdir: Path, extra_env: dict[str, str]) -> Stack:
    """The tests' stack (every service a child process on free ports, NATS and SQLite in
    `workdir`), with proxy variables removed: service-to-service traffic stays on 127.0.0.1."""
    stack = Stack(workdir, extra_env)
    for name in PROXY_VARIABLES:
        stack.env.pop(name, None)
        stack.env.pop(name.upper(), None)
    return stack


def dump_logs(stack: Stack) -> None:
    for name in SERVICES:
        print(f"--- {name}.log (tail) ---\n{stack.log(name)}", file=sys.stderr)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def stop_on_sigterm() -> None:
    """SIGTERM (e.g. from `timeout` or CI) unwinds like Ctrl-C, so the cleanup still runs."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_to_the_end(run: Callable[[], T]) -> T:
    """`run()` with SIGTERM unwinding like Ctrl-C; either ends the bench with status 130 once
    the cleanup has stopped every process it started."""
    stop_on_sigterm()
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted; every process it started is stopped", file=sys.stderr)
        raise SystemExit(130) from None
