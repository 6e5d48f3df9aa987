"""Gateway benchmark: what the REST gateway costs over calling records directly over gRPC, and
how far both are from a bare gRPC echo.

    make bench-gateway            # or, from the repository root:
    .venv/bin/python -m bench.gateway [--duration 10] [--calls get] [--levels 16]

It starts nats-server, records and the gateway as child processes on 127.0.0.1 (SQLite in a
temporary folder; no notifier, so no email work in the background), plus `bench/echo.py`, and
measures at concurrency 1, 16 and 64, each row after a warm-up:

- `create`: POST /v1/collections/contact_messages/records {"name", "email", "message"};
  `get`: GET one record; `list`: GET a page of 50 records;
- through the gateway over HTTP/1.1 keep-alive with `wrk` (one thread, `bench/wrk.lua` for the
  POST body and the latency percentiles);
- the same calls straight to records over gRPC, and a unary echo on the bare `grpc.aio`
  server (right after each call's gateway row, at the same concurrency, so that the ratio to
  the echo compares rows seconds apart), each loaded by `bench/grpc_load.py` in its own process
  (N concurrent tasks on one channel, measured the way wrk measures: calls answered in the
  window, p50/p99 of their latencies);
- at 16 and 64, both paths again at half the lower of their two rates (each connection pausing
  a random time between calls): "paced" rows, whose latencies are compared below saturation,
  each path run twice for half the time, in the order direct, gateway, gateway, direct;
- wrk through `bench/null_gateway.py` instead of the gateway: uvicorn and one gRPC call to
  records per request, no other work, a fixed reply. Its rate is the most any gateway in
  Python reaches in front of records, printed beside the gateway's ratios to direct and echo.

Every call to records, through the gateway or direct, carries the stack admin's token. The
services log at INFO, as shipped, so each request also writes its access-log lines.

Direct and gateway rows of a call are interleaved, so both see the same database size. Each row
also shows the CPU time per call of the gateway, of the server behind it (records or the echo)
and of the load generator, from /proc and getrusage: on 2 shared CPUs, where the time goes
matters more than any one rate. Then it prints the issue's goals with PASS/FAIL: gateway >= 70%
of direct gRPC throughput, added p50 < 1 ms (at 1, and on the paced rows at 16 and 64; the
saturated figure beside it), and through the gateway create >= 20%, get >= 50%, list-50 >= 25%
of the echo's calls/s. `--gateway-http`/`--gateway-loop` run the gateway with
another uvicorn HTTP parser or event loop (bench/gateway_server.py) to compare server options.

The load generators share the 2 CPUs with the servers, as on any one-machine benchmark: wrk
costs a few microseconds per request, the Python gRPC client far more, which the direct and
echo rows therefore understate. Every process started here is stopped on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import grpc

from bench.common import dump_logs, local_stack, progress, run_to_the_end, table
from bench.grpc_load import CHANNEL_OPTIONS, COLLECTION, CONTACT, create_request
from joist.v1 import records_pb2_grpc
from services.cli.processes import die_with_parent, free_port, wait_for_port
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
CALLS = ("create", "get", "list")
# At concurrency 1 nothing queues, so its added p50 is the gateway's own cost per request; the
# issue's throughput goals are set at 16 and 64, where the CPUs are saturated.
LEVELS = (1, 16, 64)
THROUGHPUT_LEVELS = frozenset({16, 64})
SEED_RECORDS = 60  # list-50 returns full pages
RECORDS_PATH = f"/v1/collections/{COLLECTION}/records"
WRK_HINT = "wrk not found: install it with `apt-get install -y wrk` (Debian's package)"
# The goals: gateway/direct throughput, added p50, and gateway/echo throughput per call.
MIN_OF_DIRECT = 0.70
MAX_ADDED_P50_MS = 1.0
MIN_OF_ECHO = {"create": 0.20, "get": 0.50, "list": 0.25}
# Paced rows (at 16 and 64): both paths at this share of the lower of their saturated rates, the
# connections pausing at random between calls, so that latencies are compared below saturation.
PACED_SHARE = 0.5


@dataclass(frozen=True)
class Figures:
    """One measured row: `calls` answered in `seconds`, their latency percentiles, and the
    number of calls the load generator made in all (warm-up included, if it warmed up)."""

    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    total_calls: int


@dataclass(frozen=True)
class Row:
    figures: Figures
    cpu_ms: dict[str, float]  # CPU time per call: "gateway", "server", "load"

    @property
    def rate(self) -> float:
        return self.figures.calls / self.figures.seconds

    @property
    def server_cpu_ms(self) -> float:
        """CPU per call of the servers only (gateway and records, or the echo server)."""
        return sum(ms for label, ms in self.cpu_ms.items() if label != "load")


@dataclass(frozen=True)
class Settings:
    calls: tuple[str, ...]
    levels: tuple[int, ...]
    warmup: float
    duration: float
    gateway_http: str
    gateway_loop: str


# --- the two load generators -----------------------------------------------------------------


def run_wrk(
    url: str, concurrency: int, seconds: float, body: str, authorization: str, pause: float = 0.0
) -> Figures:
    """wrk on one thread with `concurrency` connections for `seconds` (whole seconds), sending
    `authorization` as the Authorization header, each connection pausing a random time of mean
    `pause` seconds between requests when `pause` is set."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(round(seconds), 1)}s", "--timeout", "10s"]
    command += ["-s", str(ROOT / "bench" / "wrk.lua"), url]
    env = {
        **os.environ,
        "JOIST_BENCH_BODY": body,
        "JOIST_BENCH_AUTHORIZATION": authorization,
        "JOIST_BENCH_PAUSE_MS": str(pause * 1000),
    }
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["socket_errors"] or result["non_2xx"]:
        raise RuntimeError(f"wrk {url}: errors {result}\n{done.stdout}")
    return Figures(
        result["requests"],
        result["duration_us"] / 1e6,
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        result["requests"],
    )


def run_grpc(
    target: str,
    call: str,
    record_id: str,
    concurrency: int,
    settings: Settings,
    authorization: str,
    pause: float = 0.0,
) -> Figures:
    """bench/grpc_load.py in its own process; it warms up itself."""
    command = [sys.executable, "-m", "bench.grpc_load", "--target", target, "--call", call]
    command += ["--id", record_id, "--concurrency", str(concurrency)]
    command += ["--authorization", authorization, "--pause", str(pause)]
    command += ["--warmup", str(settings.warmup), "--duration", str(settings.duration)]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=settings.warmup + settings.duration + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"grpc_load {call} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Figures(
        result["calls"],
        result["seconds"],
        result["p50_ms"],
        result["p99_ms"],
        result["total_calls"],
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds used by the finished (waited-for) children of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def accounted(run: Callable[[], Figures], servers: dict[str, int]) -> Row:
    """Runs one load (a child process that ends) and shares out the CPU time the servers
    (label: pid) and the load generator used meanwhile over the calls it made."""
    before = {label: process_cpu(pid) for label, pid in servers.items()}
    load_before = children_cpu()
    figures = run()
    used = {label: process_cpu(pid) - before[label] for label, pid in servers.items()}
    used["load"] = children_cpu() - load_before
    return Row(figures, {label: 1000 * s / figures.total_calls for label, s in used.items()})


# --- the servers -----------------------------------------------------------------------------


@contextlib.contextmanager
def child_server(module: str, *args: str) -> Iterator[tuple[int, int]]:
    """`python -m module --port PORT *args` on a free port, until the block ends: its port
    and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        preexec_fn=die_with_parent,
    )
    try:
        wait_for_port(port, 15, process)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_stack(workdir: Path, settings: Settings) -> Stack:
    """nats-server, records and the gateway (as shipped, or with other server options), and the
    admin whose token the loads send (records reads need a signed-in caller)."""
    # INFO, as shipped: the access-log line of each request is part of what a request costs
    env = {"JOIST_SCHEDULER_HEARTBEAT_EVERY": "1h", "JOIST_LOG_LEVEL": "INFO"}
    stack = local_stack(workdir, env)
    stack.create_admin()
    stack.nats.start()
    stack.start_service("records")
    gateway = None
    if (settings.gateway_http, settings.gateway_loop) != ("httptools", "asyncio"):
        # -P: not bench/ first on sys.path, where bench/http.py would shadow the stdlib's http
        gateway = [sys.executable, "-P", str(ROOT / "bench" / "gateway_server.py")]
        gateway += ["--http", settings.gateway_http, "--loop", settings.gateway_loop]
    stack.start_service("gateway", gateway)
    for name in ("records", "gateway"):
        stack.wait_serving(name, 30)
    return stack


def seed(target: str, authorization: str) -> str:
    """Creates SEED_RECORDS contact messages; returns the id of the first."""
    metadata = (("authorization", authorization),)
    with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)
        ids = [
            stub.CreateRecord(create_request(), timeout=10, metadata=metadata).id
            for _ in range(SEED_RECORDS)
        ]
    return ids[0]


# --- the run ---------------------------------------------------------------------------------


Results = dict[tuple[str, int, str], Row]  # (call, concurrency, path) -> row
PATHS = ("direct", "gateway")
PACED = {path: f"{path} paced" for path in PATHS}
# The paced rows in two halves, in the order A B B A: a drift of the machine or of the database
# during them (it grows on every create) weighs on both paths alike, not on the one run second.
PACED_ORDER = ("direct", "gateway", "gateway", "direct")
# wrk through bench/null_gateway.py: the rate of a gateway that does no work
NULL_GATEWAY = "null gateway"
# The bare echo, measured right after each call's gateway row at the same concurrency: a ratio
# to the echo compares two rows a few seconds apart, not minutes, on a machine whose speed drifts
ECHO = "bare echo"


def measure(stack: Stack, echo: tuple[int, int], settings: Settings) -> Results:
    records = stack.grpc_target("records")
    token = stack.bearer()["authorization"]  # the admin's, valid for an hour
    record_id = seed(records, token)
    servers = {
        "gateway": stack.processes["gateway"].pid,
        "server": stack.processes["records"].pid,
    }
    paths = {
        "create": RECORDS_PATH,
        "get": f"{RECORDS_PATH}/{record_id}",
        "list": f"{RECORDS_PATH}?page_size=50",
    }
    echo_port, echo_pid = echo
    echo_target = f"127.0.0.1:{echo_port}"
    results: Results = {}
    half = replace(settings, duration=settings.duration / 2)  # each paced path runs twice
    for call in settings.calls:
        body = json.dumps(CONTACT) if call == "create" else ""
        for level in settings.levels:
            url = stack.base_url + paths[call]
            loads = {
                "direct": partial(run_grpc, records, call, record_id, level, settings, token),
                "gateway": partial(run_wrk, url, level, body=body, authorization=token),
            }
            for path in PATHS:
                progress(f"{call} at concurrency {level}: {path}")
                results[call, level, path] = measured(loads[path], path, settings, servers)
            progress(f"{call} at concurrency {level}: {ECHO}")
            echo_load = partial(run_grpc, echo_target, "echo", "", level, settings, "")
            results[call, level, ECHO] = accounted(echo_load, {"server": echo_pid})
            progress(f"{call} at concurrency {level}: {NULL_GATEWAY}")
            with child_server(
                "bench.null_gateway", "--target", records, "--call", call, "--id", record_id
            ) as (port, pid):
                null_url = f"http://127.0.0.1:{port}{paths[call]}"
                null = partial(run_wrk, null_url, level, body=body, authorization=token)
                null_servers = {"gateway": pid, "server": servers["server"]}
                results[call, level, NULL_GATEWAY] = measured(
                    null, "gateway", settings, null_servers
                )
            if level not in THROUGHPUT_LEVELS:
                continue
            rate = PACED_SHARE * min(results[call, level, path].rate for path in PATHS)
            slices: dict[str, list[Row]] = {path: [] for path in PATHS}
            for path in PACED_ORDER:
                progress(f"{call} at concurrency {level}: {path} at {rate:.0f}/s")
                paced = partial(loads[path], pause=level / rate)
                slices[path].append(measured(paced, path, half, servers))
            for path, rows in slices.items():
                results[call, level, PACED[path]] = combined(rows)
    return results


def combined(rows: Sequence[Row]) -> Row:
    """One row of several runs of the same load: calls and seconds added up, the percentiles
    averaged (the runs' latencies are not kept, only their percentiles), CPU per call over all
    their calls."""
    total_calls = sum(row.figures.total_calls for row in rows)
    figures = Figures(
        sum(row.figures.calls for row in rows),
        sum(row.figures.seconds for row in rows),
        sum(row.figures.p50_ms for row in rows) / len(rows),
        sum(row.figures.p99_ms for row in rows) / len(rows),
        total_calls,
    )
    cpu_ms = {
        label: sum(row.cpu_ms[label] * row.figures.total_calls for row in rows) / total_calls
        for label in rows[0].cpu_ms
    }
    return Row(figures, cpu_ms)


def measured(
    load: Callable[..., Figures], path: str, settings: Settings, servers: dict[str, int]
) -> Row:
    """One row of `load`: grpc_load warms up itself; wrk is run once for the warm-up first."""
    if path == "direct":
        return accounted(load, servers)
    load(settings.warmup)  # warm-up, not kept
    return accounted(partial(load, settings.duration), servers)


def run(settings: Settings) -> Results:
    with (
        tempfile.TemporaryDirectory(prefix="joist-bench-") as folder,
        contextlib.ExitStack() as cleanup,
    ):
        progress("starting nats-server, records, the gateway and the echo server")
        stack = start_stack(Path(folder), settings)
        cleanup.callback(stack.stop)
        echo = cleanup.enter_context(child_server("bench.echo"))
        try:
            return measure(stack, echo, settings)
        except Exception:
            dump_logs(stack)
            raise


# --- the report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def figures_report(results: Results) -> str:
    rows = []
    for (call, level, path), row in results.items():
        f, cpu = row.figures, row.cpu_ms
        rows.append(
            [call, str(level), path, f"{row.rate:.0f}", f"{f.p50_ms:.2f}", f"{f.p99_ms:.2f}"]
            + [f"{cpu[label]:.3f}" if label in cpu else "-" for label in ("gateway", "server")]
            + [f"{cpu['load']:.3f}"]
        )
    header = ["call", "conc", "path", "req/s", "p50 ms", "p99 ms"]
    header += ["gateway cpu", "server cpu", "load cpu"]
    return table(header, rows) + (
        "\n(cpu: CPU ms per call; server = records, or the echo server on bare echo rows; on "
        "direct rows the gateway is idle)"
    )


def added_p50(results: Results, call: str, level: int, paced: bool) -> float:
    """The gateway path's p50 less the direct path's, in ms."""
    direct, gateway = (PACED[path] if paced else path for path in PATHS)
    p50 = {path: results[call, level, path].figures.p50_ms for path in (direct, gateway)}
    return p50[gateway] - p50[direct]


def goals_report(results: Results, settings: Settings) -> str:
    rows = []
    for call in settings.calls:
        for level in settings.levels:
            gateway, direct = results[call, level, "gateway"], results[call, level, "direct"]
            echo = results[call, level, ECHO]
            of_direct = gateway.rate / direct.rate
            of_echo, goal = gateway.rate / echo.rate, MIN_OF_ECHO[call]
            judged = level in THROUGHPUT_LEVELS
            # Latency is judged below saturation: at 16 and 64 on the paced rows, at 1 (where
            # nothing queues) on the plain ones. Saturated, a path's p50 is N / its rate.
            added = added_p50(results, call, level, paced=judged)
            saturated = f"{added_p50(results, call, level, paced=False):+.2f}" if judged else "-"
            # The same throughput ratios from the servers' CPU per call: what the rates would
            # be if the servers alone had the CPUs, whatever else runs on the machine.
            cpu_of_direct = direct.server_cpu_ms / gateway.server_cpu_ms
            cpu_of_echo = echo.server_cpu_ms / gateway.server_cpu_ms
            null = results[call, level, NULL_GATEWAY]
            null_of_direct, null_of_echo = null.rate / direct.rate, null.rate / echo.rate
            rows.append(
                [
                    call,
                    str(level),
                    f"{of_direct:.0%} {verdict(of_direct >= MIN_OF_DIRECT)}",
                    f"{null_of_direct:.0%} {verdict(null_of_direct >= MIN_OF_DIRECT)}",
                    f"{added:+.2f} {verdict(added < MAX_ADDED_P50_MS)}",
                    saturated,
                    f"{of_echo:.0%} (>= {goal:.0%}) {verdict(of_echo >= goal)}" if judged else "-",
                    f"{null_of_echo:.0%} {verdict(null_of_echo >= goal)}" if judged else "-",
                    f"{cpu_of_direct:.0%} {verdict(cpu_of_direct >= MIN_OF_DIRECT)}",
                    f"{cpu_of_echo:.0%} {verdict(cpu_of_echo >= goal)}" if judged else "-",
                ]
            )
    header = [
        "call",
        "conc",
        f"gw/direct req/s >= {MIN_OF_DIRECT:.0%}",
        "null gw/direct",
        f"added p50 ms < {MAX_ADDED_P50_MS:g}",
        "saturated",
        "gw/echo req/s",
        "null gw/echo",
        "by cpu: gw/direct",
        "gw/echo",
    ]
    return table(header, rows) + (
        f"\n(added p50: at 16 and 64 from the paced rows, both paths at {PACED_SHARE:.0%} of the"
        "\n lower of their saturated rates, each path's p50 the mean of two half-length runs in"
        "\n the order direct, gateway, gateway, direct; at 1 nothing queues, so the plain rows"
        "\n give the gateway's own time per request. saturated: the same from the plain rows"
        "\n at 16 and 64, where every call queues for the CPUs and a path's p50 is about N / its"
        "\n rate; by cpu: the throughput ratios from the servers' CPU ms per call, load"
        "\n generators left out: they hold when other work shares the machine, the measured"
        "\n rates do not; the echo ratios (to the bare echo row beside the gateway's) are set"
        "\n for 16 and 64, not judged at 1; null gw/direct and null gw/echo: the same ratios"
        "\n through bench/null_gateway.py, a gateway that does no work: one HTTP exchange and"
        "\n one gRPC call per request, a fixed reply, so the most any Python gateway can reach"
        "\n in front of this records: where it FAILs, no gateway in Python meets that goal"
        "\n against this records on this machine)"
    )


def environment(settings: Settings) -> str:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}, "
        f"grpcio {grpc.__version__}, {wrk.stdout.split(' [')[0].strip()}\n"
        f"gateway: uvicorn http={settings.gateway_http}, loop={settings.gateway_loop}; "
        f"each row {settings.duration:g}s after a {settings.warmup:g}s warm-up"
    )


def parse(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each row")
    parser.add_argument("--calls", nargs="+", choices=CALLS, default=list(CALLS))
    parser.add_argument("--levels", nargs="+", type=int, default=list(LEVELS))
    parser.add_argument("--gateway-http", choices=("httptools", "h11"), default="httptools")
    parser.add_argument("--gateway-loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)
    return Settings(
        tuple(args.calls),
        tuple(args.levels),
        args.warmup,
        args.duration,
        args.gateway_http,
        args.gateway_loop,
    )


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse(argv)
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_HINT)
    began = time.monotonic()
    results = run_to_the_end(partial(run, settings))
    print(f"Joist gateway benchmark\n{environment(settings)}\n")
    print(figures_report(results) + "\n")
    print("Goals (issue 4): gateway vs direct gRPC to records, and vs the bare gRPC echo\n")
    print(goals_report(results, settings) + "\n")
    print(f"total wall time {time.monotonic() - began:.1f}s (process start and stop included)")


if __name__ == "__main__":
    main()
