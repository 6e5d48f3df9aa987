"""`joist run` as a user runs it: every service and an embedded NATS come up SERVING, the
development token keys are made and `joist token` signs with them, the Contact Us flow works on
the console provider, a crashed service is restarted, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.processes import free_port

SERVICES = ("gateway", "records", "notifier", "scheduler")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class _Lines:
    """Reads a process's output on a thread so that waiting for a line can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(process,), daemon=True).start()

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not printed in {timeout}s:\n{''.join(self.seen[-40:])}")


def _serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def test_joist_run_starts_supervises_and_stops_everything(tmp_path: Path):
    http_port = free_port()
    ports = {name: free_port() for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOIST_")}
    env |= {
        "JOIST_GATEWAY_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        **{f"JOIST_{n.upper()}_GRPC_LISTEN": f"127.0.0.1:{p}" for n, p in ports.items()},
        **{
            f"JOIST_GATEWAY_{n.upper()}_TARGET": f"127.0.0.1:{ports[n]}"
            for n in ("records", "notifier", "scheduler")
        },
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = _Lines(process)
    try:
        lines.wait_for("Joist is up", timeout=60)
        assert all(_serving(port) for port in ports.values())
        assert (tmp_path / "var" / "records.db").exists()
        assert (tmp_path / "var" / "nats").is_dir()
        private_key = tmp_path / "var" / "keys" / "auth-private.pem"
        assert private_key.stat().st_mode & 0o777 == 0o600
        token = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "token", "--service", "e2e"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()

        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10) as api:
            posted = api.post(
                "/v1/collections/contact_messages/records",
                json={"name": "Ann", "email": "ann@example.com", "message": "Hi"},
            )
            assert posted.status_code == 200, posted.text
            assert api.get("/v1/jobs").status_code == 401
            jobs = api.get("/v1/jobs", headers={"authorization": f"Bearer {token}"})
            assert jobs.status_code == 200, jobs.text
        mail_log = tmp_path / "var" / "outbox" / "mail.log"
        for _ in range(100):
            if mail_log.exists() and "New contact message from Ann" in mail_log.read_text():
                break
            time.sleep(0.1)
        assert "Reply-To: ann@example.com" in mail_log.read_text()

        records_pid = next(
            pid
            for pid in _children(process.pid)
            if "records" in Path(f"/proc/{pid}/cmdline").read_text()
        )
        os.kill(records_pid, signal.SIGKILL)
        lines.wait_for("exited with code -9; restarting", timeout=10)
        deadline = time.monotonic() + 30
        while not _serving(ports["records"]):
            assert time.monotonic() < deadline, "records was not restarted"
            time.sleep(0.2)

        children = _children(process.pid)
        assert len(children) == 5  # four services and nats-server
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=40) == 0
        lines.wait_for("Joist stopped.", timeout=5)
        time.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
