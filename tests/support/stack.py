"""A whole Joist in child processes: NATS, the four services (`joist serve ...`), each on free
ports with its databases and token keys in a temporary folder, wired as `joist run` wires them.
`start` also creates an admin user (`admin_email`, `admin_password`) as `joist createsuperuser`
does; `token(subject, roles)` signs an access token with the stack's private key, as records
would, by default the admin's."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import jwt
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.processes import NatsServer, die_with_parent, free_port
from services.common.auth import ADMIN
from services.common.config import AuthConfig, load_config
from services.common.tokens import TokenIssuer, generate_key_pair
from services.records.superuser import create_superuser

SERVICES = ("records", "notifier", "scheduler", "gateway")


class Stack:
    def __init__(self, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.nats = NatsServer(workdir / "nats")
        self.http_port = free_port()
        self.grpc_ports = {name: free_port() for name in SERVICES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.admin_email = "e2e-admin@example.com"
        self.admin_password = secrets.token_urlsafe(16)
        self.admin_id = ""
        private_key, public_key = workdir / "keys" / "private.pem", workdir / "keys" / "public.pem"
        generate_key_pair(private_key, public_key)
        settings = AuthConfig()
        self._issuer = TokenIssuer(
            private_key.read_bytes(), settings.issuer, settings.audience, timedelta(hours=1)
        )
        self.env = {
            **os.environ,
            "JOIST_CONFIG": str(workdir / "joist.toml"),
            "JOIST_NATS_URL": self.nats.url,
            "JOIST_LOG_LEVEL": "WARNING",
            "JOIST_GATEWAY_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            # Tests and benchmarks are one client making the writes of many.
            "JOIST_GATEWAY_ANONYMOUS_WRITE_RATE": "0",
            "JOIST_RECORDS_DATABASE_URL": f"sqlite:///{workdir}/records.db",
            "JOIST_NOTIFIER_DATABASE_URL": f"sqlite:///{workdir}/notifier.db",
            "JOIST_NOTIFIER_CONSOLE_PATH": str(workdir / "mail.log"),
            "JOIST_AUTH_PUBLIC_KEY_FILE": str(public_key),
            "JOIST_AUTH_PRIVATE_KEY_FILE": str(private_key),
            **{
                f"JOIST_{n.upper()}_GRPC_LISTEN": f"127.0.0.1:{p}"
                for n, p in self.grpc_ports.items()
            },
            **{
                f"JOIST_GATEWAY_{n.upper()}_TARGET": f"127.0.0.1:{self.grpc_ports[n]}"
                for n in ("records", "notifier", "scheduler")
            },
            **(extra_env or {}),
        }
        if not (workdir / "joist.toml").exists():
            (workdir / "joist.toml").write_text("")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def grpc_target(self, service: str) -> str:
        return f"127.0.0.1:{self.grpc_ports[service]}"

    def token(self, subject: str = "", roles: Iterable[str] = (ADMIN,)) -> str:
        """An access token (one hour) signed with the stack's key; the admin's by default."""
        return self._issuer.issue(subject or self.admin_id, roles)[0]

    def token_with(self, claims: dict[str, Any]) -> str:
        """The admin's token with some claims changed, signed with the stack's real key: a
        token that only the claims make wrong (expired, another audience, ...)."""
        good = jwt.decode(self.token(), options={"verify_signature": False})
        private_key = (self.workdir / "keys" / "private.pem").read_bytes()
        return jwt.encode({**good, **claims}, private_key, algorithm="EdDSA")

    def records_sql(self, sql: str) -> None:
        """Runs `sql` on the records database behind the services' back (e.g. to disable a
        user as an operator would)."""
        with sqlite3.connect(self.workdir / "records.db") as connection:
            connection.execute(sql)

    def bearer(self, subject: str = "", roles: Iterable[str] = (ADMIN,)) -> dict[str, str]:
        """`Authorization` header with a fresh token; the admin's unless told."""
        return {"authorization": f"Bearer {self.token(subject, roles)}"}

    def create_admin(self) -> None:
        """The admin user (as `joist createsuperuser` makes it) whose tokens `token` signs."""
        admin, _ = create_superuser(load_config(self.env), self.admin_email, self.admin_password)
        self.admin_id = admin.id

    def start(self, timeout: float = 30.0) -> Stack:
        self.create_admin()
        self.nats.start()
        for name in SERVICES:
            self.start_service(name)
        for name in SERVICES:
            self.wait_serving(name, timeout)
        return self

    def start_service(self, name: str, command: list[str] | None = None) -> None:
        """Starts `joist serve <name>`, or `command` in its place (same env, log and folder)."""
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command or [sys.executable, "-m", "services.cli.main", "serve", name],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=die_with_parent,
        )

    def wait_serving(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.grpc_target(name)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}:\n{self.log(name)}"
                    )
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not SERVING after {timeout}s:\n{self.log(name)}")
                time.sleep(0.1)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_service(self, name: str, timeout: float = 15.0) -> int:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def stop(self) -> None:
        for name in list(reversed(SERVICES)):
            if name in self.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.stop_service(name)
        self.nats.stop()
