"""schemathesis against the gateway's own /openapi.json, through real processes: no server
error, and every answer conforms to the published schema. It calls as an admin, so that the
admin-only notifications and jobs APIs are fuzzed too, not only their 401."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.stack import Stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture(scope="module")
def api(module_api: httpx.Client) -> httpx.Client:
    return module_api


def test_the_published_schema_is_served(api: httpx.Client):
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/v1/collections/{collection}/records" in document["paths"]


@pytest.mark.timeout(400)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    api: httpx.Client, module_stack: Stack
):
    base = str(api.base_url).rstrip("/")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/openapi.json",
            "--url",
            base,
            "--header",
            f"Authorization: Bearer {module_stack.token()}",
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--seed",
            "2026",
            "--phases",
            "examples,coverage,fuzzing",
            "--request-timeout",
            "10",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
