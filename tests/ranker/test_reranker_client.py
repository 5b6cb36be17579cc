from __future__ import annotations

import json
import logging
import math
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from services.ranker.reranker_client import RerankCall, RerankerClient, order_by_scores, parse_rerank_reply
from services.ranker.scorer import ScorerError
from tests.ranker.fake_rerank_api import FakeRerankApi, json_reply, reverse_scores

TOKEN = "sk-secret-7f3a9c"
DOCUMENTS = ["doc a", "doc b", "doc c", "doc d"]


@pytest.fixture
async def client() -> AsyncIterator[RerankerClient]:
    reranker = RerankerClient(TOKEN, first_backoff_seconds=0.01)
    yield reranker
    await reranker.close()


def rerank_call(url: str, max_documents: int = 100, connect_timeout: float = 0.5) -> RerankCall:
    return RerankCall(
        url=url, model="test-model", connect_timeout_seconds=connect_timeout, max_documents=max_documents
    )


async def rerank(client: RerankerClient, url: str, timeout: float = 2.0, max_documents: int = 100) -> Any:
    return await client.rerank(
        rerank_call(url, max_documents), "a query", DOCUMENTS, deadline=time.monotonic() + timeout
    )


async def test_client_sends_jina_request_with_bearer_token(
    api: FakeRerankApi, client: RerankerClient
) -> None:
    result = await rerank(client, api.url)

    headers, payload = api.requests[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert payload == {"model": "test-model", "query": "a query", "documents": DOCUMENTS, "top_n": 4}
    assert result.order == [3, 2, 1, 0]
    assert result.scores == [0.0, 0.25, 0.5, 0.75]
    assert result.total_tokens == 7


async def test_empty_token_sends_no_authorization(api: FakeRerankApi) -> None:
    anonymous = RerankerClient("")
    try:
        await rerank(anonymous, api.url)
    finally:
        await anonymous.close()

    assert "Authorization" not in api.requests[0][0]


async def test_client_resorts_unordered_results(api: FakeRerankApi, client: RerankerClient) -> None:
    api.handler = json_reply(
        {
            "data": [
                {"index": 0, "score": 0.1},
                {"index": 2, "score": 0.9},
                {"index": 1, "score": 0.5},
                {"index": 3, "score": 0.2},
            ]
        }
    )

    result = await rerank(client, api.url)

    assert result.order == [2, 1, 3, 0]
    assert result.total_tokens is None


async def test_bare_list_reply_is_accepted(api: FakeRerankApi, client: RerankerClient) -> None:
    api.handler = json_reply([{"index": 1, "relevance_score": 2}, {"index": 0, "relevance_score": 1}])

    result = await rerank(client, api.url)

    assert result.order == [1, 0, 2, 3]


async def test_partial_results_keep_left_out_in_merged_order(
    api: FakeRerankApi, client: RerankerClient
) -> None:
    api.handler = json_reply(
        {"results": [{"index": 2, "relevance_score": 0.3}, {"index": 1, "relevance_score": 0.8}]}
    )

    result = await rerank(client, api.url)

    assert result.order == [1, 2, 0, 3]
    assert result.scores == [None, 0.8, 0.3, None]


async def test_numeric_string_scores_are_accepted(api: FakeRerankApi, client: RerankerClient) -> None:
    api.handler = json_reply({"results": [{"index": i, "relevance_score": f"0.{i}"} for i in range(4)]})

    result = await rerank(client, api.url)

    assert result.order == [3, 2, 1, 0]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"results": [{"index": 4, "relevance_score": 0.5}]}, "index 4"),
        ({"results": [{"index": -1, "relevance_score": 0.5}]}, "index -1"),
        ({"results": [{"index": "1", "relevance_score": 0.5}]}, "index '1'"),
        (
            {"results": [{"index": 1, "relevance_score": 0.5}, {"index": 1, "relevance_score": 0.4}]},
            "repeats index 1",
        ),
        ({"results": []}, "no results"),
        ([], "no results"),
        ({"results": [{"index": 0, "relevance_score": "high"}]}, "non-numeric"),
        ({"results": [{"index": 0, "relevance_score": "NaN"}]}, "non-finite"),
        ({"results": [{"index": 0, "relevance_score": True}]}, "no numeric score"),
        ({"results": [{"index": 0}]}, "no numeric score"),
        ({"results": ["0"]}, "not an object"),
        ({"answer": "yes"}, "neither a results nor a data list"),
        ("just a string", "neither a results nor a data list"),
    ],
)
async def test_unusable_reply_is_bad_reply(
    api: FakeRerankApi, client: RerankerClient, reply: Any, message: str
) -> None:
    api.handler = json_reply(reply)

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url)

    assert caught.value.reason == "bad_reply"
    assert message in caught.value.detail


async def test_nan_score_is_bad_reply(api: FakeRerankApi, client: RerankerClient) -> None:
    async def nan_reply(request: web.Request, payload: dict[str, Any]) -> web.Response:
        # json.dumps writes the bare NaN token that Python's and many other JSON parsers accept.
        return web.Response(text=json.dumps({"results": [{"index": 0, "relevance_score": math.nan}]}))

    api.handler = nan_reply

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url)

    assert caught.value.reason == "bad_reply"
    assert "non-finite" in caught.value.detail


async def test_malformed_json_is_bad_reply(api: FakeRerankApi, client: RerankerClient) -> None:
    async def truncated(request: web.Request, payload: dict[str, Any]) -> web.Response:
        return web.Response(text='{"results": [{"index": 0, "relev', content_type="application/json")

    api.handler = truncated

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url)

    assert caught.value.reason == "bad_reply"
    assert "not JSON" in caught.value.detail


async def test_html_page_with_200_is_bad_reply(api: FakeRerankApi, client: RerankerClient) -> None:
    async def html(request: web.Request, payload: dict[str, Any]) -> web.Response:
        return web.Response(text="<html><body>Gateway login</body></html>", content_type="text/html")

    api.handler = html

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url)

    assert caught.value.reason == "bad_reply"
    assert "<html>" in caught.value.detail


async def test_html_error_page_is_http_status(api: FakeRerankApi, client: RerankerClient) -> None:
    async def bad_gateway_page(request: web.Request, payload: dict[str, Any]) -> web.Response:
        return web.Response(status=404, text="<html><h1>404 Not Found</h1></html>", content_type="text/html")

    api.handler = bad_gateway_page

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url)

    assert caught.value.reason == "http_status"
    assert "HTTP 404" in caught.value.detail
    assert len(api.requests) == 1


async def test_429_then_success_is_retried(api: FakeRerankApi, client: RerankerClient) -> None:
    async def busy_once(request: web.Request, payload: dict[str, Any]) -> web.Response:
        if len(api.requests) == 1:
            return web.json_response({"error": "rate limited"}, status=429)
        return await reverse_scores(request, payload)

    api.handler = busy_once

    result = await rerank(client, api.url)

    assert result.order == [3, 2, 1, 0]
    assert len(api.requests) == 2


async def test_500_is_retried_until_deadline(api: FakeRerankApi, client: RerankerClient) -> None:
    api.handler = json_reply({"error": "boom"}, status=500)

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url, timeout=0.5)

    assert caught.value.reason == "http_status"
    assert "HTTP 500" in caught.value.detail
    # Backoff of 10, 20, 40, 80, 160 ms leaves no room for more than six attempts in 0.5 s.
    assert 2 <= len(api.requests) <= 6


async def test_retry_after_longer_than_deadline_is_not_waited(
    api: FakeRerankApi, client: RerankerClient
) -> None:
    async def busy(request: web.Request, payload: dict[str, Any]) -> web.Response:
        return web.json_response({"error": "rate limited"}, status=429, headers={"Retry-After": "30"})

    api.handler = busy

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url, timeout=1.0)

    assert caught.value.reason == "http_status"
    assert len(api.requests) == 1


async def test_hang_past_timeout_is_timeout(api: FakeRerankApi, client: RerankerClient) -> None:
    async def hang(request: web.Request, payload: dict[str, Any]) -> web.Response:
        await api.released.wait()
        return await reverse_scores(request, payload)

    api.handler = hang
    started = time.monotonic()

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url, timeout=0.2)

    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 5


async def test_refused_connection_is_unavailable(client: RerankerClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.

    with pytest.raises(ScorerError) as caught:
        await rerank(client, f"http://127.0.0.1:{port}/v1/rerank")

    assert caught.value.reason == "unavailable"


async def test_long_list_is_split_into_concurrent_calls(api: FakeRerankApi, client: RerankerClient) -> None:
    documents = [f"doc {i}" for i in range(10)]

    result = await client.rerank(rerank_call(api.url, max_documents=4), "q", documents, time.monotonic() + 2)

    sizes = sorted(len(payload["documents"]) for _, payload in api.requests)
    assert sizes == [2, 4, 4]
    assert all(payload["top_n"] == len(payload["documents"]) for _, payload in api.requests)
    # Each part scores its own last document highest: 3/4 in both full parts, then 2/4, then 1/2.
    assert result.scores == [0.0, 0.25, 0.5, 0.75, 0.0, 0.25, 0.5, 0.75, 0.0, 0.5]
    assert result.order == [3, 7, 2, 6, 9, 1, 5, 0, 4, 8]
    assert result.total_tokens == 21


async def test_split_call_fails_when_one_part_fails(api: FakeRerankApi, client: RerankerClient) -> None:
    async def second_part_broken(request: web.Request, payload: dict[str, Any]) -> web.Response:
        if payload["documents"][0] == "doc 4":
            return web.Response(text="not json")
        return await reverse_scores(request, payload)

    api.handler = second_part_broken
    documents = [f"doc {i}" for i in range(8)]

    with pytest.raises(ScorerError) as caught:
        await client.rerank(rerank_call(api.url, max_documents=4), "q", documents, time.monotonic() + 2)

    assert caught.value.reason == "bad_reply"


async def test_token_never_in_errors_logs_or_repr(
    api: FakeRerankApi, client: RerankerClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def echo_token(request: web.Request, payload: dict[str, Any]) -> web.Response:
        # A misconfigured gateway that quotes the credentials back in its error page.
        return web.Response(status=503, text=f"bad credentials {request.headers['Authorization']}")

    api.handler = echo_token
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ScorerError) as caught:
        await rerank(client, api.url, timeout=0.3)
    api.handler = json_reply({"error": f"token {TOKEN} rejected"}, status=401)
    with pytest.raises(ScorerError) as rejected:
        await rerank(client, api.url)

    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in str(rejected.value)
    assert "<token>" in str(rejected.value)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)


def test_order_by_scores_breaks_ties_by_index() -> None:
    assert order_by_scores([0.5, None, 0.9, 0.5, None]) == [2, 0, 3, 1, 4]


def test_parse_reads_usage_tokens() -> None:
    body = json.dumps(
        {"results": [{"index": 0, "relevance_score": 1}], "usage": {"prompt_tokens": 12}}
    ).encode()

    scores, tokens = parse_rerank_reply(body, 1)

    assert scores == [1.0]
    assert tokens == 12
