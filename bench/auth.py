"""`make bench-auth`: what authentication costs.

1. In this process: issuing an access token, verifying one the verifier has not seen (the cost
   of a caller's first request with a token) and one it has (every later request), beside raw
   PyJWT EdDSA verification as the baseline; and one Argon2id password check at the configured
   (OWASP) cost.
2. Through real processes: `Login` over gRPC to the records service (a Joist stack on
   127.0.0.1), one and two at a time, against the ceiling of Argon2id checks per second on the
   same cores; and the added cost per call of sending a token, as `GetRecord` on a public
   collection with and without one.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import grpc
import jwt

from bench.common import local_stack, percentile, progress, stop_on_sigterm, table
from bench.contact import Load, measure_load
from joist.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    collections_pb2,
    collections_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)
from services.common.config import AuthConfig
from services.common.tokens import TokenIssuer, TokenVerifier, generate_key_pair
from services.records.passwords import Passwords

PASSWORD = "bench password 1234"
LOGINS = 60
GETS = 2000


def per_call_us(work: Callable[[int], object], count: int) -> float:
    """Mean µs of `work(i)` over `count` calls."""
    started = time.perf_counter()
    for i in range(count):
        work(i)
    return (time.perf_counter() - started) / count * 1e6


def token_costs(workdir: Path) -> list[list[str]]:
    private, public = workdir / "private.pem", workdir / "public.pem"
    generate_key_pair(private, public)
    settings = AuthConfig()
    issuer = TokenIssuer(
        private.read_bytes(), settings.issuer, settings.audience, timedelta(hours=1)
    )
    count = 2000
    tokens = [issuer.issue(f"user-{i}", ["user"])[0] for i in range(count)]
    issue_us = per_call_us(lambda i: issuer.issue(f"user-{i}", ["user"]), count)
    verifier = TokenVerifier(public.read_bytes(), settings.issuer, settings.audience)
    cold_us = per_call_us(lambda i: verifier.verify(tokens[i]), count)
    warm_us = per_call_us(lambda i: verifier.verify(tokens[i]), count)
    key = public.read_bytes()
    raw_us = per_call_us(
        lambda i: jwt.decode(tokens[i], key, algorithms=["EdDSA"], audience=settings.audience),
        count,
    )
    return [
        ["issue an access token", f"{issue_us:.1f}", ""],
        ["verify, first time (PyJWT + checks)", f"{cold_us:.1f}", f"{cold_us / raw_us:.2f}x raw"],
        ["verify, seen before (cached)", f"{warm_us:.1f}", f"{warm_us / raw_us:.2f}x raw"],
        ["raw PyJWT EdDSA decode (baseline)", f"{raw_us:.1f}", "1.00x"],
    ]


def argon2_ceiling(passwords: Passwords, threads: int, seconds: float = 5.0) -> float:
    """Password checks per second with `threads` threads (argon2-cffi releases the GIL)."""
    hashed = passwords.hash(PASSWORD)
    deadline = time.perf_counter() + seconds

    def loop() -> int:
        done = 0
        while time.perf_counter() < deadline:
            passwords.verify(hashed, PASSWORD)
            done += 1
        return done

    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / seconds


async def service_figures(target: str, admin: list[tuple[str, str]]) -> dict[str, Load]:
    async with grpc.aio.insecure_channel(target) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        await auth.SignUp(auth_pb2.SignUpRequest(email="bench@example.com", password=PASSWORD))
        login = auth_pb2.LoginRequest(email="bench@example.com", password=PASSWORD)
        session = await auth.Login(login, timeout=30)
        collections = collections_pb2_grpc.CollectionsServiceStub(channel)
        public = collections_pb2.Collection(
            name="bench_public",
            fields=[collections_pb2.Field(name="text", type=collections_pb2.Field.TEXT)],
            rules=collections_pb2.Rules(get=collections_pb2.Rules.PUBLIC),
        )
        await collections.CreateCollection(
            collections_pb2.CreateCollectionRequest(collection=public), metadata=admin
        )
        records = records_pb2_grpc.RecordsServiceStub(channel)
        made = await records.CreateRecord(
            records_pb2.CreateRecordRequest(collection="bench_public", data={"text": "x"}),
            metadata=admin,
        )
        get = records_pb2.GetRecordRequest(collection="bench_public", id=made.id)
        bearer = (("authorization", f"Bearer {session.access_token}"),)

        async def do_login() -> None:
            await auth.Login(login, timeout=30)

        async def anonymous_get() -> None:
            await records.GetRecord(get, timeout=10)

        async def signed_get() -> None:
            await records.GetRecord(get, metadata=bearer, timeout=10)

        results = {}
        for name, call, concurrency, count in [
            ("login c=1", do_login, 1, LOGINS),
            ("login c=2", do_login, 2, LOGINS),
            ("GetRecord anonymous", anonymous_get, 4, GETS),
            ("GetRecord with a token", signed_get, 4, GETS),
            ("GetRecord anonymous (again)", anonymous_get, 4, GETS),
            ("GetRecord with a token (again)", signed_get, 4, GETS),
        ]:
            progress(name)
            await measure_load(call, concurrency, 10)  # warm-up
            results[name] = await measure_load(call, concurrency, count)
        return results


def main() -> None:
    stop_on_sigterm()
    settings = AuthConfig()
    with tempfile.TemporaryDirectory(prefix="joist-bench-auth-") as folder:
        workdir = Path(folder)
        progress("token costs in this process")
        tokens = token_costs(workdir)
        passwords = Passwords(
            settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
        )
        hashed = passwords.hash(PASSWORD)
        check_ms = per_call_us(lambda _: passwords.verify(hashed, PASSWORD), 20) / 1e3
        progress("Argon2id ceiling")
        ceiling = {threads: argon2_ceiling(passwords, threads) for threads in (1, 2)}
        (workdir / "stack").mkdir()
        stack = local_stack(workdir / "stack", {"JOIST_AUTH_LOGIN_ATTEMPTS_PER_MINUTE": "1000000"})
        try:
            stack.start()
            loads = asyncio.run(
                service_figures(stack.grpc_target("records"), tuple(stack.bearer().items()))
            )
        finally:
            stack.stop()
    print(f"\nbench-auth on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    print(table(["token work, in process", "µs per call", "vs baseline"], tokens))
    print(
        f"\nArgon2id (t={settings.password_time_cost}, m={settings.password_memory_kib} KiB,"
        f" p={settings.password_parallelism}): {check_ms:.1f} ms per check; ceiling"
        f" {ceiling[1]:.1f} checks/s on 1 thread, {ceiling[2]:.1f} on 2\n"
    )
    rows = []
    for name, load in loads.items():
        rows.append(
            [name, f"{load.throughput:.1f}", f"{load.p50 * 1e3:.2f}", f"{load.p99 * 1e3:.2f}"]
        )
    print(table(["over gRPC to records", "calls/s", "p50 ms", "p99 ms"], rows))
    logins = loads["login c=2"].throughput
    print(f"\nlogin c=2 / Argon2id ceiling on 2 threads: {logins / ceiling[2]:.2f}")
    plain = min(percentile(loads[n].latencies, 50) for n in loads if n.startswith("GetRecord anon"))
    signed = min(
        percentile(loads[n].latencies, 50) for n in loads if n.startswith("GetRecord with")
    )
    print(f"GetRecord p50 added by a token (best of two rounds): {(signed - plain) * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
