"""`joist run`: every service in its own interpreter, plus an embedded NATS when
`JOIST_NATS_URL` is unset, supervised. On first start it also makes the development key pair
that signs and checks access tokens (`auth.private_key_file`, `auth.public_key_file`: under
`var/keys` by default), unless the keys come from the environment.

Each child's output is prefixed with its name; a child that exits on its own is reported and
restarted with backoff; Ctrl-C or SIGTERM stops the gateway first, then the other services, then
NATS, and waits for each (SIGKILL after a grace period), so nothing is left running. Children
also get SIGTERM if the supervisor itself dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from services.cli.processes import NatsServer, die_with_parent
from services.common.config import AuthConfig, Config
from services.common.tokens import generate_key_pair

GRACE_SECONDS = 10.0
MAX_LINE_BYTES = 16 * 1024 * 1024  # a log line with a long traceback still fits
COLORS = ("36", "35", "33", "32", "34")


class Child:
    def __init__(self, name: str, env: dict[str, str], color: str) -> None:
        self.name = name
        self._env = env
        self._tag = f"\x1b[{color}m{name:<9}|\x1b[0m " if sys.stdout.isatty() else f"{name:<9}| "
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False

    async def supervise(self) -> None:
        backoff = 1.0
        while not self.stopping:
            started = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli.main",
                "serve",
                self.name,
                env=self._env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                limit=MAX_LINE_BYTES,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops them
                preexec_fn=die_with_parent,
            )
            await self._pump(self.process.stdout)
            code = await self.process.wait()
            if self.stopping:
                return
            backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, 30.0)
            self.say(f"exited with code {code}; restarting in {backoff:.0f}s")
            await asyncio.sleep(backoff)

    async def _pump(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while line := await stream.readline():
            sys.stdout.write(self._tag + line.decode(errors="replace"))
            sys.stdout.flush()

    def say(self, text: str) -> None:
        print(f"{self._tag}{text}", flush=True)

    async def stop(self) -> None:
        self.stopping = True
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), GRACE_SECONDS)
        except TimeoutError:
            self.say("did not stop in time; killing it")
            process.kill()
            await process.wait()


class Supervisor:
    def __init__(self, config: Config, services: tuple[str, ...]) -> None:
        self._config = config
        self._services = services

    def run(self) -> int:
        asyncio.run(self._main())
        return 0

    async def _main(self) -> None:
        _development_keys(self._config.auth)
        env = dict(os.environ)
        nats = None
        if not env.get("JOIST_NATS_URL"):
            nats = NatsServer(Path("var") / "nats").start()
            env["JOIST_NATS_URL"] = nats.url
            print(f"embedded NATS with JetStream on {nats.url} (store: var/nats)", flush=True)
        children = [
            Child(name, env, COLORS[i % len(COLORS)]) for i, name in enumerate(self._services)
        ]
        tasks = [asyncio.create_task(child.supervise()) for child in children]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        announce = asyncio.create_task(self._announce())
        await stop.wait()
        announce.cancel()
        print("stopping Joist...", flush=True)
        front = [child for child in children if child.name == "gateway"]
        rest = [child for child in children if child.name != "gateway"]
        for group in (front, rest):  # no new requests first, then the services behind
            await asyncio.gather(*(child.stop() for child in group))
        await asyncio.gather(*tasks, return_exceptions=True)
        if nats is not None:
            nats.stop()
        print("Joist stopped.", flush=True)

    async def _announce(self) -> None:
        """Prints the URLs once the gateway reports every upstream serving."""
        host, _, port = self._config.gateway.http_listen.rpartition(":")
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        while True:
            await asyncio.sleep(0.5)
            try:
                reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(
                    f"GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
                )
                answer = await reader.read()
                writer.close()
            except OSError:
                continue
            if b'"status": "ok"' in answer:
                break
        print(
            f"\nJoist is up.\n  REST API   {base}/v1/...\n  health     {base}/healthz"
            f"\n  gRPC       records {self._config.records.grpc_listen}, notifier "
            f"{self._config.notifier.grpc_listen}, scheduler "
            f"{self._config.scheduler.grpc_listen}\n  Ctrl-C stops everything.\n",
            flush=True,
        )


def _development_keys(settings: AuthConfig) -> None:
    """Makes the token key pair at the configured files when missing (keys in the environment
    are left alone)."""
    if settings.public_key or settings.private_key:
        return
    private, public = Path(settings.private_key_file), Path(settings.public_key_file)
    if not private.exists():
        print(f"making the development token keys: {private}, {public}", flush=True)
    generate_key_pair(private, public)
