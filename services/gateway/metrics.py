"""The gateway's Prometheus metrics, served at `/metrics`.

    joist_gateway_requests_total{method, route, status}       requests answered
    joist_gateway_request_duration_seconds{method, route}     latency histogram
    joist_gateway_upstream_errors_total{rpc, code}            failed gRPC calls by status code
    joist_gateway_kept_documents                              rendered list elements kept
    joist_gateway_kept_document_bytes                         their serialized size
    joist_gateway_kept_document_lookups_total{result}         look-ups: `hit` or `miss`

`route` is the matched path template (bounded), `unmatched` otherwise, `internal` for the
gateway's own endpoints, `docs` for the `/docs` page, `preflight` for CORS preflights. The
registry belongs to the app, not to the process. The kept documents (`render.py`, `kept.py`)
are read when scraped, so counting them costs a request nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from services.gateway.kept import KeptDocuments
from services.gateway.render import kept_documents

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST.encode()

    def __init__(self, kept: KeptDocuments | None = None) -> None:
        self._registry = CollectorRegistry()
        self._registry.register(KeptDocumentsCollector(kept_documents() if kept is None else kept))
        self._requests = Counter(
            "joist_gateway_requests",
            "HTTP requests answered by the gateway.",
            ("method", "route", "status"),
            registry=self._registry,
        )
        self._duration = Histogram(
            "joist_gateway_request_duration_seconds",
            "Time from a request's arrival to its answer.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self._registry,
        )
        self._upstream_errors = Counter(
            "joist_gateway_upstream_errors",
            "gRPC calls to the services that failed, by status code.",
            ("rpc", "code"),
            registry=self._registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:  # `labels` costs more than the counting; the label sets are few
            children = self._children[method, route, status] = (
                self._requests.labels(method, route, str(status)),
                self._duration.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def upstream_error(self, rpc: str, code: str) -> None:
        self._upstream_errors.labels(rpc, code).inc()

    def render(self) -> bytes:
        return generate_latest(self._registry)


class KeptDocumentsCollector(Collector):
    """The kept documents' size and look-ups, read at scrape time."""

    def __init__(self, kept: KeptDocuments) -> None:
        self._kept = kept

    def collect(self) -> Iterator[Metric]:
        kept = self._kept
        yield GaugeMetricFamily(
            "joist_gateway_kept_documents",
            "Rendered elements of list responses kept for the next responses.",
            value=len(kept),
        )
        yield GaugeMetricFamily(
            "joist_gateway_kept_document_bytes",
            "Serialized bytes of the messages whose rendered documents are kept.",
            value=kept.size_bytes,
        )
        lookups = CounterMetricFamily(
            "joist_gateway_kept_document_lookups",
            "Look-ups of rendered list elements: hit (kept) or miss (rendered).",
            labels=["result"],
        )
        lookups.add_metric(["hit"], float(kept.hits))
        lookups.add_metric(["miss"], float(kept.misses))
        yield lookups
