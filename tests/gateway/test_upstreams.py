"""The channels' retry policy, through a real gateway: a GET-only method is retried on
UNAVAILABLE, a method with a side effect never is."""

from __future__ import annotations

import json
from types import SimpleNamespace

from services.gateway.upstreams import RETRY_POLICY, is_read_only, service_config
from tests.gateway.conftest import Gateway


async def test_a_read_is_retried_when_the_service_is_unavailable(gateway: Gateway):
    response = await gateway.client.get("/v1/flaky/k1", params={"failures": 2})
    assert response.status_code == 200, response.text
    assert response.json() == {"attempts": 3}
    gave_up = await gateway.client.get("/v1/flaky/k2", params={"failures": 5})
    assert gave_up.status_code == 503
    assert gateway.servicer.attempts["k2"] == RETRY_POLICY["maxAttempts"]


async def test_a_write_is_never_retried(gateway: Gateway):
    response = await gateway.client.post("/v1/flaky/k3", params={"failures": 1})
    assert response.status_code == 503
    assert gateway.servicer.attempts["k3"] == 1


def test_only_methods_bound_to_get_alone_are_retried(echo: SimpleNamespace):
    service = echo.pb2.DESCRIPTOR.services_by_name["EchoService"]
    read_only = {m.name for m in service.methods if is_read_only(m)}
    assert read_only == {"Flaky", "Watch"}  # Echo also has POST, PUT and DELETE bindings
    config = json.loads(json.dumps(service_config([service])))
    (method_config,) = config["methodConfig"]
    assert method_config["name"] == [
        {"service": "joist_test.v1.EchoService", "method": "Flaky"},
        {"service": "joist_test.v1.EchoService", "method": "Watch"},
    ]
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert "retryThrottling" in config
