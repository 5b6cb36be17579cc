"""Prometheus metrics every service exports; service-specific families live beside their service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Buckets from 0.5 ms to 10 s: loopback calls take about a millisecond, rerank calls up to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_REQUESTS = Counter(
    "recmesh_grpc_requests_total",
    "gRPC calls served, by service, method and status code.",
    ["service", "rpc", "code"],
)
GRPC_LATENCY = Histogram(
    "recmesh_grpc_request_duration_seconds",
    "Time from receiving a gRPC call to sending its reply, by service and method.",
    ["service", "rpc"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "recmesh_http_requests_total",
    "HTTP API calls served, by service, route template and HTTP status.",
    ["service", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "recmesh_http_request_duration_seconds",
    "Time from receiving an HTTP API call to sending its reply, by service and route template.",
    ["service", "route"],
    buckets=LATENCY_BUCKETS,
)
GRPC_IN_FLIGHT = Gauge(
    "recmesh_grpc_requests_in_flight",
    "gRPC calls being served now.",
    ["service"],
)
BUILD_INFO = Gauge(
    "recmesh_build_info",
    "Always 1; labels carry the running version.",
    ["service", "version"],
)
