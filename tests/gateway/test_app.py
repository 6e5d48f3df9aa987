"""The gateway as a whole, built by `build_gateway` for a service it has no code for: routes
from the annotations, upstream errors as google.rpc.Status with grpc-gateway's HTTP statuses,
refusals before any upstream call, and one JSON access-log line per request."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from services.common.logs import JsonFormatter
from tests.gateway.conftest import Gateway


async def test_an_annotated_rpc_is_served_and_described_without_gateway_code(
    gateway: Gateway,
):
    document = (await gateway.client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert {("GET", "/v1/samples:watch"), ("POST", "/v1/answers")} <= operations
    assert (await gateway.client.post("/v1/answers", json={})).json()["id"] == "answered"
    ready = (await gateway.client.get("/readyz")).json()
    assert ready == {"status": "ok", "upstreams": {"joist_test.v1.EchoService": "SERVING"}}


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (3, 400),
        (5, 404),
        (6, 409),
        (7, 403),
        (8, 429),
        (9, 400),
        (10, 409),
        (12, 501),
        (13, 500),
        (14, 503),
        (16, 401),
    ],
)
async def test_upstream_errors_keep_their_status_and_details(
    api: httpx.AsyncClient, code: int, http: int
):
    response = await api.post("/v1/answers", json={"code": code, "message": "no"})
    assert response.status_code == http
    body = response.json()
    assert (body["code"], body["message"]) == (code, "no")
    if code == 3:
        assert body["details"] == [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "id", "description": "bad"}],
            }
        ]


async def test_requests_the_gateway_refuses(api: httpx.AsyncClient):
    missing = await api.get("/v1/nothing")
    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    wrong_method = await api.patch("/v1/samples/s1")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 12)
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}
    form = await api.post(
        "/v1/samples", content=b"a=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert (form.status_code, form.json()["code"]) == (415, 3)
    typed = await api.post(
        "/v1/samples", content=b"{}", headers={"content-type": "application/merge-patch+json"}
    )
    assert typed.status_code == 200


async def test_one_json_access_log_line_per_request(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="services.gateway.access"):
        await api.get("/v1/samples/s1", headers={"x-request-id": "req-1"})
        await api.get("/v1/nowhere/" + "x" * 1000)
        await api.get("/healthz")
    lines = [
        json.loads(JsonFormatter("gateway").format(record))
        for record in caplog.records
        if record.name == "services.gateway.access"
    ]
    assert len(lines) == 3
    first = lines[0]
    assert first["message"] == "request" and first["service"] == "gateway"
    assert {k: first[k] for k in ("method", "path", "status", "request_id", "client")} == {
        "method": "GET",
        "path": "/v1/samples/{id}",  # the template, not the id
        "status": 200,
        "request_id": "req-1",
        "client": "127.0.0.1",
    }
    assert first["duration_ms"] > 0
    assert lines[1]["status"] == 404 and len(lines[1]["path"]) == 256
    assert lines[2]["path"] == "/healthz"


async def test_head_is_a_get_without_its_body(api: httpx.AsyncClient):
    head = await api.head("/v1/samples/7")
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0  # the length the GET's body would have
    assert head.headers["content-type"] == "application/json"
    for own in ("/openapi.json", "/metrics"):
        assert (await api.head(own)).status_code == 200
    post_only = await api.head("/v1/answers")
    assert post_only.status_code == 405 and post_only.headers["allow"] == "POST"
    stream = await api.head("/v1/samples:watch")  # a stream has no one response to describe
    assert stream.status_code == 405 and stream.headers["allow"] == "GET"
    assert "HEAD" in (await api.request("PATCH", "/v1/samples/7")).headers["allow"]
