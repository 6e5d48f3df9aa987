"""A server-streaming RPC as Server-Sent Events, through a real gateway: one `data:` event per
message, an `event: error` with the Status for a failure mid-stream, the usual HTTP error for
one before the first message, and the upstream call cancelled when the client goes away."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from tests.gateway.conftest import Gateway

WATCH = "/v1/samples:watch"


def _events(text: str) -> list[tuple[str, dict]]:
    """(event name, JSON data) of each event in an event stream."""
    events = []
    for block in text.split("\n\n"):
        if not block:
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


async def test_one_event_per_message(api: httpx.AsyncClient):
    response = await api.get(WATCH, params={"count": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert len(response.headers["x-request-id"]) == 32
    events = _events(response.text)
    assert [(name, data["id"], data["count"]) for name, data in events] == [
        ("message", "0", 0),
        ("message", "1", 1),
        ("message", "2", 2),
    ]
    assert events[0][1]["kind"] == "KIND_UNSPECIFIED"  # proto3 JSON, as unary answers


async def test_an_empty_stream_is_a_200_without_events(api: httpx.AsyncClient):
    response = await api.get(WATCH, params={"count": 0})
    assert (response.status_code, response.text) == (200, "")


async def test_a_failure_mid_stream_is_an_error_event(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="services.gateway.access"):
        response = await api.get(WATCH, params={"count": 5, "fail_after": 2, "code": 9})
        whole = await api.get(WATCH, params={"count": 1})
    assert response.status_code == 200
    events = _events(response.text)
    assert [name for name, _ in events] == ["message", "message", "error"]
    assert events[-1][1] == {"code": 9, "message": "failed after 2 samples", "details": []}
    # the access log tells a failed stream from a whole one, though both were a 200
    logged = [r.fields for r in caplog.records if r.name == "services.gateway.access"]
    assert [(f["status"], f["grpc_code"]) for f in logged] == [
        (200, "FAILED_PRECONDITION"),
        (200, "OK"),
    ]
    assert whole.status_code == 200


async def test_a_failure_before_the_first_message_is_an_http_error(api: httpx.AsyncClient):
    response = await api.get(WATCH, params={"count": 5, "fail_after": 0, "code": 5})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 5


async def test_a_stream_ends_at_its_deadline_with_an_error_event(start_gateway):
    async with start_gateway(stream_timeout=0.5) as gateway:
        response = await gateway.client.get(WATCH, params={"count": 100, "interval": "0.1s"})
    events = _events(response.text)
    assert 2 <= len(events) <= 7
    assert events[-1][0] == "error" and events[-1][1]["code"] == 4


async def test_the_upstream_stream_is_cancelled_when_the_client_leaves(gateway: Gateway):
    params = {"count": 1000, "interval": "0.05s"}
    async with gateway.client.stream("GET", WATCH, params=params) as response:
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("data: ")
    await asyncio.wait_for(gateway.servicer.stream_cancelled.wait(), timeout=5)
