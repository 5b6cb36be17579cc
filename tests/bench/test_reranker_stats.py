from __future__ import annotations

import pytest

from recmesh.bench.reranker_stats import RerankerStats


def test_calls_documents_and_split_requests():
    stats = RerankerStats()
    stats.record_success(documents=250, max_documents=100, tokens=None, seconds=0.2)
    stats.record_failure("timeout", documents=10, max_documents=100, seconds=1.0)
    assert stats.calls == 2
    assert stats.http_requests == 4
    assert stats.documents == 260
    assert stats.failures == {"timeout": 1}


def test_tokens_none_until_reported():
    stats = RerankerStats()
    stats.record_success(documents=2, max_documents=100, tokens=None, seconds=0.1)
    assert stats.tokens is None
    assert "tokens: not reported" in stats.describe()
    stats.record_success(documents=2, max_documents=100, tokens=30, seconds=0.1)
    stats.record_success(documents=2, max_documents=100, tokens=12, seconds=0.1)
    assert stats.tokens == 42


def test_latency_percentiles_and_throughput():
    stats = RerankerStats()
    for seconds in [0.1] * 99 + [2.0]:
        stats.record_success(documents=10, max_documents=100, tokens=None, seconds=seconds)
    stats.wall_seconds = 50.0
    assert stats.latency_percentile(50) == pytest.approx(0.1)
    assert stats.latency_percentile(99) > 0.1
    assert stats.documents_per_second == pytest.approx(20.0)
    assert stats.to_json()["latency_p50_seconds"] == pytest.approx(0.1)


def test_no_calls_has_no_latency():
    stats = RerankerStats()
    assert stats.latency_percentile(50) is None
    assert stats.documents_per_second is None
    assert "latency per call: n/a" in stats.describe()
