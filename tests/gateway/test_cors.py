"""CORS through a real gateway: nothing for any origin by default; for configured origins, the
preflight answered by the gateway and Access-Control-Allow-Origin on every answer."""

from __future__ import annotations

import httpx

APP = "https://app.example.com"
PREFLIGHT = {"origin": APP, "access-control-request-method": "PUT"}


async def test_no_origin_is_allowed_by_default(api: httpx.AsyncClient):
    response = await api.get("/v1/samples/s1", headers={"origin": APP})
    assert response.is_success and "access-control-allow-origin" not in response.headers
    preflight = await api.options("/v1/samples/s1", headers=PREFLIGHT)
    assert (preflight.status_code, preflight.json()["code"]) == (403, 7)
    assert "access-control-allow-origin" not in preflight.headers


async def test_configured_origins(start_gateway):
    async with start_gateway(cors_origins=f"{APP}, http://localhost:5173") as gateway:
        api = gateway.client
        preflight = await api.options("/v1/samples/s1", headers=PREFLIGHT)
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == APP
        assert preflight.headers["access-control-allow-methods"] == "DELETE, GET, HEAD, PUT"
        allowed = preflight.headers["access-control-allow-headers"].split(", ")
        assert {"authorization", "content-type", "x-request-id", "grpc-timeout"} <= set(allowed)
        assert preflight.headers["access-control-max-age"] == "600"
        assert preflight.headers["vary"] == "origin"

        for response in (
            await api.get("/v1/samples/s1", headers={"origin": APP}),
            await api.post("/v1/answers", json={"code": 5}, headers={"origin": APP}),
        ):
            assert response.headers["access-control-allow-origin"] == APP
            exposed = response.headers["access-control-expose-headers"]
            assert "x-request-id" in exposed and "retry-after" in exposed

        other = await api.get("/v1/samples/s1", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        assert other.headers["vary"] == "origin"
        refused = await api.options(
            "/v1/samples/s1", headers={**PREFLIGHT, "origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        unknown = await api.options("/v1/nowhere", headers=PREFLIGHT)
        assert unknown.status_code == 404


async def test_any_origin(start_gateway):
    async with start_gateway(cors_origins="*") as gateway:
        response = await gateway.client.get("/v1/samples/s1", headers={"origin": APP})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "vary" not in response.headers


async def test_an_options_request_that_is_no_preflight_is_a_405(api: httpx.AsyncClient):
    response = await api.options("/v1/samples/s1")
    assert response.status_code == 405
