"""Debian's `chromium`, headless: loads a page, lets its scripts run, and returns the DOM and
every request the page made (read from Chromium's own network log).

Name resolution is pinned to 127.0.0.1 (`--host-resolver-rules`), so nothing leaves the
machine even when a page asks for it; the network log still records such a request, which is
how a test tells that a page wanted a CDN. The browser's own background requests (component
updates, account checks) are told apart from the page's by their network isolation key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

INSTALL_HINT = "install Debian's chromium: apt-get install -y chromium"
FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


@dataclass(frozen=True)
class Rendered:
    dom: str
    requests: list[str]  # URLs the page requested, in order, the page itself first


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise FileNotFoundError(f"chromium not found: {INSTALL_HINT}")
    return found


def render(url: str, workdir: Path, budget_ms: int = 15_000, timeout: float = 90) -> Rendered:
    """The page at `url` after its scripts ran for up to `budget_ms` of virtual time (which
    waits for pending fetches)."""
    workdir.mkdir(parents=True, exist_ok=True)
    net_log = workdir / "net-log.json"
    command = [chromium(), *FLAGS, f"--user-data-dir={workdir / 'profile'}"]
    if os.geteuid() == 0:  # Chromium refuses to sandbox itself as root (CI runs as root)
        command.append("--no-sandbox")
    command += [f"--log-net-log={net_log}", f"--virtual-time-budget={budget_ms}"]
    command += ["--dump-dom", url]
    done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    site = "{0.scheme}://{0.hostname}".format(urlsplit(url))
    return Rendered(done.stdout.decode(), page_requests(net_log, site))


def page_requests(net_log: Path, site: str) -> list[str]:
    """The URLs of the requests made on behalf of pages of `site` (their network isolation
    key names it as the top frame's site), whatever host each went to."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [event.get("params", {}) for event in log["events"] if event["type"] == start_job]
    return [
        params["url"]
        for params in starts
        if params.get("network_isolation_key", "").split(" ")[0] == site
    ]
