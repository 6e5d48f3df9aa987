"""`GET /docs` in a real browser: Debian's chromium, headless, against a real gateway process.

The page must render the API's operations with the protos' comments, and load every asset
from the gateway: no request of the page may go anywhere but 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.chromium import render
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The gateway alone: /docs and /openapi.json need no upstream."""
    stack = Stack(tmp_path_factory.mktemp("gateway"))
    try:
        stack.start_service("gateway")
        stack.wait_serving("gateway", 30)
        yield stack
    finally:
        stack.stop()


def test_the_page_and_its_assets_are_served_by_the_gateway(gateway: Stack):
    with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for asset, kind in (
            ("/docs/swagger-ui.css", "text/css"),
            ("/docs/swagger-ui-bundle.js", "text/javascript"),
            ("/docs/init.js", "text/javascript"),
            ("/docs/favicon-32x32.png", "image/png"),
        ):
            answer = client.get(asset)
            assert answer.status_code == 200, asset
            assert answer.headers["content-type"].startswith(kind), asset
            assert f'"{asset.removeprefix("/")}"' in page.text, asset  # linked relatively
        assert client.get("/docs/index.html").status_code == 404
        assert client.post("/docs").status_code == 404


def test_chromium_renders_the_operations_from_local_assets_only(gateway: Stack, tmp_path: Path):
    page = render(f"{gateway.base_url}/docs", tmp_path)
    # Swagger UI drew an operation per route, with the summary from the proto comment.
    assert 'data-path="/v1/collections/{collection}/records"' in page.dom
    assert 'data-path="/v1/jobs/{name}:run"' in page.dom
    assert "Creates a record." in page.dom
    assert "RecordsService stores records in collections" in page.dom
    paths = [urlsplit(url).path for url in page.requests]
    assert paths[0] == "/docs"
    assert {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/openapi.json"} <= set(paths)
    elsewhere = [url for url in page.requests if urlsplit(url).hostname != "127.0.0.1"]
    assert not elsewhere, f"the page made requests off 127.0.0.1: {elsewhere}"
