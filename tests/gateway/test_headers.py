"""Headers through a real gateway: Authorization and X-Request-Id forwarded as metadata,
Grpc-Timeout as the call's deadline, response metadata back as headers."""

from __future__ import annotations

import httpx
import pytest

from services.gateway.headers import grpc_timeout
from services.gateway.params import BadInput


async def test_authorization_and_request_id_are_forwarded(api: httpx.AsyncClient):
    response = await api.get(
        "/v1/samples/s1", headers={"authorization": "Bearer t0k.en", "x-request-id": "abc-1"}
    )
    assert response.headers["x-request-id"] == "abc-1"
    seen = response.json()["headers"]
    assert (seen["authorization"], seen["x-request-id"]) == ("Bearer t0k.en", "abc-1")


@pytest.mark.parametrize("given", [None, b"", b"a b", b"x" * 129, "é".encode("latin-1")])
async def test_an_odd_or_missing_request_id_is_replaced(api: httpx.AsyncClient, given):
    headers = [(b"x-request-id", given)] if given is not None else []
    response = await api.get("/v1/samples/s1", headers=headers)
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and request_id != given
    assert response.json()["headers"]["x-request-id"] == request_id


async def test_every_answer_carries_the_request_id(api: httpx.AsyncClient):
    for response in (
        await api.get("/v1/nowhere"),
        await api.post("/v1/answers", json={"code": 5}),
        await api.get("/healthz"),
        await api.get("/v1/samples:watch", params={"count": 1}),
    ):
        assert len(response.headers["x-request-id"]) == 32


async def test_a_malformed_authorization_is_a_401(api: httpx.AsyncClient):
    response = await api.get("/v1/samples/s1", headers=[(b"authorization", b"Bearer \xe9t\xe9")])
    assert (response.status_code, response.json()["code"]) == (401, 16)


async def test_the_deadline_is_the_setting_or_a_shorter_grpc_timeout(start_gateway):
    async def remaining(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
        response = await client.get("/v1/samples/s1", headers=headers)
        return float(response.json()["headers"]["time-remaining"])

    # gRPC carries deadlines rounded up a little: hence the 0.1 s of slack.
    async with start_gateway(upstream_timeout=3.0) as gateway:
        assert 2.0 < await remaining(gateway.client, {}) < 3.1
        assert await remaining(gateway.client, {"grpc-timeout": "500m"}) < 0.6
        assert await remaining(gateway.client, {"grpc-timeout": "1H"}) < 3.1  # never longer


async def test_a_call_past_its_deadline_is_a_504(api: httpx.AsyncClient):
    response = await api.post("/v1/answers", json={"delay": "2s"}, headers={"grpc-timeout": "100m"})
    assert (response.status_code, response.json()["code"]) == (504, 4)


@pytest.mark.parametrize("value", ["5", "5s", "123456789S", "-1S", "1.5S", "S"])
async def test_a_malformed_grpc_timeout_is_a_400(api: httpx.AsyncClient, value: str):
    response = await api.get("/v1/samples/s1", headers={"grpc-timeout": value})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldViolations"][0]["field"] == "Grpc-Timeout"


def test_grpc_timeout_units():
    assert grpc_timeout(b"2H") == 7200 and grpc_timeout(b"3M") == 180
    assert grpc_timeout(b"5S") == 5 and grpc_timeout(b"250m") == 0.25
    assert grpc_timeout(b"7u") == pytest.approx(7e-6) and grpc_timeout(b"99999999n") < 0.1
    with pytest.raises(BadInput):
        grpc_timeout(b"5s")


async def test_response_metadata_becomes_headers(api: httpx.AsyncClient):
    metadata = {
        "retry-after": "30",
        "cache-control": "no-store",
        "x-trace": "t1",
        "initial-step": "one",
    }
    response = await api.post("/v1/answers", json={"metadata": metadata})
    assert response.status_code == 200
    assert response.headers["retry-after"] == "30"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["grpc-metadata-x-trace"] == "t1"
    assert response.headers["grpc-metadata-initial-step"] == "one"
    assert not [name for name in response.headers if name.startswith("grpc-status")]


async def test_error_metadata_becomes_headers_too(api: httpx.AsyncClient):
    response = await api.post(
        "/v1/answers", json={"code": 8, "message": "slow down", "metadata": {"retry-after": "7"}}
    )
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert "grpc-metadata-grpc-status-details-bin" not in response.headers
