"""The gateway's metrics count every request, the repeated label sets too."""

from __future__ import annotations

from services.gateway.metrics import GatewayMetrics


def test_each_request_is_counted_and_timed():
    metrics = GatewayMetrics()
    route = "/v1/things/{id}"
    for seconds in (0.002, 0.003, 0.2):
        metrics.observe("GET", route, 200, seconds)
    metrics.observe("GET", route, 404, 0.001)
    text = metrics.render().decode()
    assert f'joist_gateway_requests_total{{method="GET",route="{route}",status="200"}} 3.0' in text
    assert f'joist_gateway_requests_total{{method="GET",route="{route}",status="404"}} 1.0' in text
    assert (
        f'joist_gateway_request_duration_seconds_count{{method="GET",route="{route}"}} 4.0' in text
    )
    bucket = (
        f'joist_gateway_request_duration_seconds_bucket{{le="0.005",method="GET",route="{route}"}}'
    )
    assert f"{bucket} 3.0" in text
