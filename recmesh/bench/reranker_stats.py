"""Cost of the reranker column in one run: calls, documents, tokens, latency and failures."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class RerankerStats:
    # One call is one user's rerank request; the client splits it into ceil(documents / max_documents)
    # HTTP requests, counted in http_requests.
    calls: int = 0
    http_requests: int = 0
    documents: int = 0
    # None until a reply reports usage.
    tokens: int | None = None
    failures: Counter[str] = field(default_factory=Counter)
    # Seconds each call took, failed ones included, as the caller waited for it.
    latencies: list[float] = field(default_factory=list)
    # Wall-clock seconds of the whole run, set when it ends.
    wall_seconds: float = 0.0

    def record_success(self, documents: int, max_documents: int, tokens: int | None, seconds: float) -> None:
        self._record_call(documents, max_documents, seconds)
        if tokens is not None:
            self.tokens = (self.tokens or 0) + tokens

    def record_failure(self, reason: str, documents: int, max_documents: int, seconds: float) -> None:
        self._record_call(documents, max_documents, seconds)
        self.failures[reason] += 1

    def _record_call(self, documents: int, max_documents: int, seconds: float) -> None:
        self.calls += 1
        self.http_requests += math.ceil(documents / max(1, max_documents))
        self.documents += documents
        self.latencies.append(seconds)

    def latency_percentile(self, percent: float) -> float | None:
        if not self.latencies:
            return None
        return float(np.percentile(self.latencies, percent))

    @property
    def documents_per_second(self) -> float | None:
        """Documents sent per second of wall-clock time over the run (failed calls included)."""
        return self.documents / self.wall_seconds if self.wall_seconds > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "http_requests": self.http_requests,
            "documents": self.documents,
            "tokens": self.tokens,
            "latency_p50_seconds": self.latency_percentile(50),
            "latency_p99_seconds": self.latency_percentile(99),
            "wall_seconds": self.wall_seconds,
            "documents_per_second": self.documents_per_second,
            "failures": dict(sorted(self.failures.items())),
        }

    def describe(self) -> str:
        """Format the stats as the printed report's reranker lines."""
        tokens = "not reported" if self.tokens is None else f"{self.tokens:,}"
        p50 = self.latency_percentile(50)
        p99 = self.latency_percentile(99)
        latency = (
            "n/a" if p50 is None or p99 is None else f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms"
        )
        rate = self.documents_per_second
        throughput = "n/a" if rate is None else f"{rate:,.1f} documents/s"
        failed = sum(self.failures.values())
        failures = ", ".join(f"{reason} {count}" for reason, count in sorted(self.failures.items()))
        return "\n".join(
            [
                f"reranker calls: {self.calls:,} ({self.http_requests:,} HTTP requests), "
                f"documents: {self.documents:,}, tokens: {tokens}",
                f"reranker latency per call: {latency}; throughput {throughput} "
                f"over {self.wall_seconds:,.1f} s",
                f"reranker failures: {failed:,}" + (f" ({failures})" if failures else ""),
            ]
        )
