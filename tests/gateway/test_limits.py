"""Protections through a real gateway: the body cap (413), the anonymous-write rate limit per
client (429 with Retry-After) and the in-flight cap (503 with Retry-After); the token buckets
on their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.ratelimit import TokenBuckets, client_key


def _status(response: httpx.Response, http: int, code: int) -> dict:
    assert response.status_code == http, response.text
    body = response.json()
    assert body["code"] == code and body["message"]
    return body


async def test_the_body_cap(start_gateway):
    async with start_gateway(max_body_bytes=100) as gateway:
        exact = b'{"id": "' + b"x" * 90 + b'"}'
        assert len(exact) == 100
        json_type = {"content-type": "application/json"}
        assert (
            await gateway.client.post("/v1/samples", content=exact, headers=json_type)
        ).is_success
        over = await gateway.client.post("/v1/samples", content=exact + b" ", headers=json_type)
        assert "larger than 100 bytes" in _status(over, 413, 3)["message"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(20):
                yield b" " * 10

        chunked = await gateway.client.post("/v1/samples", content=chunks(), headers=json_type)
        _status(chunked, 413, 3)


async def test_the_default_body_cap_is_one_mebibyte(api: httpx.AsyncClient):
    big = {"displayName": "x" * (1024 * 1024)}
    _status(await api.post("/v1/samples", json=big), 413, 3)
    assert (await api.post("/v1/samples", json={"displayName": "x" * 1000_000})).is_success


async def test_anonymous_writes_are_limited_per_client(start_gateway):
    async with start_gateway(anonymous_write_rate=0.5, anonymous_write_burst=2) as gateway:
        api = gateway.client
        assert (await api.post("/v1/samples", json={})).is_success
        assert (await api.delete("/v1/samples/s1")).is_success
        refused = await api.post("/v1/samples", json={})
        assert _status(refused, 429, 8)["message"].startswith("too many requests")
        assert refused.headers["retry-after"] == "2"  # half a token a second
        # Reads, callers with credentials and other clients are not held back.
        assert (await api.get("/v1/samples/s1")).is_success
        signed = {"authorization": "Bearer t"}
        assert (await api.post("/v1/samples", json={}, headers=signed)).is_success
        elsewhere = {"x-forwarded-for": "203.0.113.9"}  # from a trusted proxy (127.0.0.1)
        assert (await api.post("/v1/samples", json={}, headers=elsewhere)).is_success


async def test_x_forwarded_for_counts_only_from_trusted_proxies(start_gateway):
    settings = {
        "anonymous_write_rate": 0.5,
        "anonymous_write_burst": 1,
        "trusted_proxies": "10.9.9.9",
    }
    async with start_gateway(**settings) as gateway:
        assert (await gateway.client.post("/v1/samples", json={})).is_success
        spoofed = {"x-forwarded-for": "203.0.113.9"}
        response = await gateway.client.post("/v1/samples", json={}, headers=spoofed)
        _status(response, 429, 8)


async def test_too_many_requests_in_flight_get_a_503(start_gateway):
    async with start_gateway(max_in_flight=1) as gateway:
        slow = asyncio.create_task(gateway.client.post("/v1/answers", json={"delay": "0.5s"}))
        await asyncio.sleep(0.2)
        busy = await gateway.client.get("/v1/samples/s1")
        assert _status(busy, 503, 14)["message"] == "the gateway is busy: retry in a second"
        assert busy.headers["retry-after"] == "1"
        assert (await gateway.client.get("/healthz")).is_success  # probes still answer
        assert (await slow).is_success
        assert (await gateway.client.get("/v1/samples/s1")).is_success


def test_a_bucket_refills_at_its_rate_up_to_its_burst():
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)
    assert buckets.take("a", now=0.5) == 0
    assert buckets.take("b", now=0.5) == 0  # one bucket per client
    assert [buckets.take("a", now=100.0) for _ in range(4)][-1] > 0  # never above the burst


def test_the_table_forgets_the_least_recently_seen_clients():
    buckets = TokenBuckets(rate=1.0, burst=1, max_clients=2)
    buckets.take("a", now=0.0)
    buckets.take("b", now=0.0)
    buckets.take("a", now=0.0)  # a is seen again: b is now the oldest
    buckets.take("c", now=0.0)
    assert buckets.take("b", now=0.0) == 0  # forgotten, so full again
    assert buckets.take("c", now=0.0) > 0


def test_ipv6_clients_are_counted_by_their_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("192.0.2.1") == "192.0.2.1"
