"""The gateway's metrics count every request, the repeated label sets too."""

from __future__ import annotations

from joist.v1 import records_pb2
from services.gateway.kept import KeptDocuments
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


def test_the_kept_documents_are_reported_when_scraped():
    kept = KeptDocuments(most=10, most_bytes=1000, largest=100)
    metrics = GatewayMetrics(kept)
    key = (records_pb2.Record.DESCRIPTOR, b"\n\x01a")
    assert kept.get(key) is None
    kept.keep(key, {"id": "a"})
    assert kept.get(key) == {"id": "a"}
    text = metrics.render().decode()
    assert "joist_gateway_kept_documents 1.0" in text
    assert "joist_gateway_kept_document_bytes 3.0" in text
    assert 'joist_gateway_kept_document_lookups_total{result="hit"} 1.0' in text
    assert 'joist_gateway_kept_document_lookups_total{result="miss"} 1.0' in text
