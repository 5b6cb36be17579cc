"""Prometheus metrics of the LLM ranker's rerank API client and its circuit breaker."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from recmesh.metrics import LATENCY_BUCKETS

RERANKER_LATENCY = Histogram(
    "recmesh_reranker_request_duration_seconds",
    "Time from sending one rerank HTTP request to reading its whole reply, retries counted separately.",
    buckets=LATENCY_BUCKETS,
)
RERANKER_REQUESTS = Counter(
    "recmesh_reranker_requests_total",
    "Rerank HTTP requests by outcome: the HTTP status code, or timeout or connect_error.",
    ["status"],
)
RERANKER_DOCUMENTS = Counter(
    "recmesh_reranker_documents_total",
    "Documents sent to the rerank API.",
)
RERANKER_TOKENS = Counter(
    "recmesh_reranker_tokens_total",
    "Tokens the rerank API reported as used, where its reply carries usage.",
)
RERANKER_BREAKER_STATE = Gauge(
    "recmesh_reranker_breaker_state",
    "State of the rerank API circuit breaker that changed last: 0 closed, 1 open, 2 half-open.",
)
