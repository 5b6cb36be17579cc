from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from recmesh.config import RerankerApiSettings
from recmesh.entities import Feedback, Item, User
from recmesh.user_context import FeedbackTypes, build_user_context
from recmesh.v1 import flow_pb2
from services.ranker.circuit_breaker import BreakerState
from services.ranker.llm_scorer import (
    LlmScorerFactory,
    PromptInputs,
    TemplateCache,
    needed_item_ids,
    preview_prompt,
)
from services.ranker.scorer import Candidate, ScorerError
from tests.ranker.fake_rerank_api import FakeRerankApi, json_reply

TOKEN = "tok-9d8e7f"
ITEMS = {
    "1": Item("1", ("Animation", "Comedy"), comment="Toy Story (1995)"),
    "50": Item("50", ("Sci-Fi", "War"), comment="Star Wars (1977)"),
    "98": Item("98", ("Drama", "Thriller"), comment="Silence of the Lambs (1991)"),
    "181": Item("181", ("Sci-Fi", "War"), comment="Return of the Jedi (1983)"),
    "222": Item("222", ("Sci-Fi",), comment="Star Trek: First Contact (1996)"),
}
FEEDBACK = [
    Feedback("like", "196", "50", 300),
    Feedback("read", "196", "98", 250),
    Feedback("like", "196", "1", 200),
    Feedback("like", "196", "50", 100),
]
QUERY = "Liked: {% for f in feedback %}{{ f.item.comment }} ({{ f.type }}){% if not loop.last %}, {% endif %}{% endfor %}"
DOCUMENT = "{{ item.comment }} [{{ item.categories | join(', ') }}]"


def ranker_node(url: str, **overrides: Any) -> flow_pb2.RankerConfig:
    node = flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_LLM,
        query_template=QUERY,
        document_template=DOCUMENT,
        reranker_api=flow_pb2.RerankerApi(url=url, model="m"),
        timeout_ms=1000,
        connect_timeout_ms=300,
        max_documents=10,
        breaker_failures=2,
        breaker_reset_seconds=30,
    )
    for key, value in overrides.items():
        setattr(node, key, value)
    return node


@pytest.fixture
async def factory() -> AsyncIterator[LlmScorerFactory]:
    built = LlmScorerFactory(RerankerApiSettings("http://127.0.0.1:1/unused", TOKEN, "default-model"))
    yield built
    await built.close()


CONTEXT = build_user_context("196", FEEDBACK, FeedbackTypes(positive=("like",)), now=1000)
INPUTS = PromptInputs(items=ITEMS, user=User("196"), positive_types=("like",), context_size=10)
CANDIDATES = [Candidate("181", 0.9), Candidate("98", 0.8), Candidate("222", 0.7)]


async def test_scores_follow_rerank_api(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    api.handler = json_reply(
        {
            "results": [
                {"index": 2, "relevance_score": 0.9},
                {"index": 0, "relevance_score": 0.4},
                {"index": 1, "relevance_score": 0.1},
            ]
        }
    )
    scorer = factory.scorer(ranker_node(api.url), flow_version=3)

    scores = await scorer.score(CONTEXT, CANDIDATES, INPUTS)

    assert scores == [0.4, 0.1, 0.9]
    headers, payload = api.requests[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert payload["model"] == "m"
    assert payload["query"] == "Liked: Star Wars (1977) (like), Toy Story (1995) (like)"
    assert payload["documents"] == [
        "Return of the Jedi (1983) [Sci-Fi, War]",
        "Silence of the Lambs (1991) [Drama, Thriller]",
        "Star Trek: First Contact (1996) [Sci-Fi]",
    ]


async def test_left_out_candidates_rank_after_scored(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    api.handler = json_reply({"results": [{"index": 1, "relevance_score": 0.2}]})
    scorer = factory.scorer(ranker_node(api.url), flow_version=3)

    scores = await scorer.score(CONTEXT, CANDIDATES, INPUTS)

    order = sorted(range(3), key=lambda i: -scores[i])
    assert order == [1, 0, 2]
    assert scores[1] == 0.2


async def test_context_size_limits_query_feedback(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    scorer = factory.scorer(ranker_node(api.url), flow_version=3)
    inputs = PromptInputs(items=ITEMS, positive_types=("like",), context_size=1)

    await scorer.score(CONTEXT, CANDIDATES, inputs)

    assert api.requests[0][1]["query"] == "Liked: Star Wars (1977) (like)"


async def test_document_render_error_names_template_and_item(
    api: FakeRerankApi, factory: LlmScorerFactory
) -> None:
    node = ranker_node(api.url, document_template="{{ item.labels.year }}")
    scorer = factory.scorer(node, flow_version=3)

    with pytest.raises(ScorerError) as caught:
        await scorer.score(CONTEXT, CANDIDATES, INPUTS)

    assert caught.value.reason == "template_error"
    assert "document_template" in caught.value.detail
    assert "'181'" in caught.value.detail
    assert api.requests == []


async def test_template_compile_error_is_template_error(
    api: FakeRerankApi, factory: LlmScorerFactory
) -> None:
    scorer = factory.scorer(ranker_node(api.url, query_template="{% for %}"), flow_version=3)

    with pytest.raises(ScorerError) as caught:
        await scorer.score(CONTEXT, CANDIDATES, INPUTS)

    assert caught.value.reason == "template_error"
    assert "query_template" in caught.value.detail


async def test_breaker_opens_after_failures_and_skips_calls(
    api: FakeRerankApi, factory: LlmScorerFactory
) -> None:
    api.handler = json_reply({"error": "denied"}, status=403)
    scorer = factory.scorer(ranker_node(api.url), flow_version=3)

    reasons = []
    for _ in range(4):
        with pytest.raises(ScorerError) as caught:
            await scorer.score(CONTEXT, CANDIDATES, INPUTS)
        reasons.append(caught.value.reason)

    assert reasons == ["http_status", "http_status", "breaker_open", "breaker_open"]
    assert len(api.requests) == 2
    next_version = factory.scorer(ranker_node(api.url), flow_version=4)
    with pytest.raises(ScorerError, match="breaker_open"):
        await next_version.score(CONTEXT, CANDIDATES, INPUTS)


async def test_template_errors_do_not_open_breaker(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    broken = factory.scorer(ranker_node(api.url, document_template="{{ item.x.y }}"), flow_version=3)
    for _ in range(3):
        with pytest.raises(ScorerError):
            await broken.score(CONTEXT, CANDIDATES, INPUTS)

    working = factory.scorer(ranker_node(api.url), flow_version=4)
    scores = await working.score(CONTEXT, CANDIDATES, INPUTS)

    assert len(scores) == 3


async def test_request_deadline_caps_node_timeout(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    async def hang(request: web.Request, payload: dict[str, Any]) -> web.Response:
        await api.released.wait()
        return web.json_response([])

    api.handler = hang
    scorer = factory.scorer(ranker_node(api.url, timeout_ms=30_000), flow_version=3)
    started = time.monotonic()

    with pytest.raises(ScorerError) as caught:
        await scorer.score(CONTEXT, CANDIDATES, INPUTS, deadline=time.monotonic() + 0.2)

    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 10


async def test_node_url_falls_back_to_configured_url(api: FakeRerankApi) -> None:
    factory = LlmScorerFactory(RerankerApiSettings(api.url, "", "configured-model"))
    node = ranker_node("")
    node.reranker_api.model = ""
    try:
        await factory.scorer(node, flow_version=1).score(CONTEXT, CANDIDATES, INPUTS)
    finally:
        await factory.close()

    assert api.requests[0][1]["model"] == "configured-model"


async def test_no_candidates_makes_no_call(api: FakeRerankApi, factory: LlmScorerFactory) -> None:
    scores = await factory.scorer(ranker_node(api.url), flow_version=3).score(CONTEXT, [], INPUTS)

    assert scores == []
    assert api.requests == []


def test_templates_compile_once_per_flow_version() -> None:
    cache = TemplateCache()

    first = cache.get(7, "document_template", DOCUMENT)
    again = cache.get(7, "document_template", DOCUMENT)
    next_version = cache.get(8, "document_template", DOCUMENT)

    assert first is again
    assert next_version is not first


def test_preview_prompt_renders_query_and_documents() -> None:
    query, documents = preview_prompt(ranker_node("http://127.0.0.1:1"), CONTEXT, ["222", "999"], INPUTS)

    assert query == "Liked: Star Wars (1977) (like), Toy Story (1995) (like)"
    assert documents == [("222", "Star Trek: First Contact (1996) [Sci-Fi]"), ("999", " []")]


def test_needed_item_ids_covers_feedback_and_candidates() -> None:
    assert needed_item_ids(CONTEXT, ["181", "50"], context_size=10) == ["50", "1", "181"]


def test_breaker_state_gauge_follows_breaker(factory: LlmScorerFactory) -> None:
    node = ranker_node("http://127.0.0.1:1", breaker_failures=1)
    scorer = factory.scorer(node, flow_version=1)
    scorer.breaker.record_failure()

    assert REGISTRY.get_sample_value("recmesh_reranker_breaker_state") == BreakerState.OPEN
    scorer.breaker.record_success()
    assert REGISTRY.get_sample_value("recmesh_reranker_breaker_state") == BreakerState.CLOSED


def test_factory_repr_hides_token(factory: LlmScorerFactory) -> None:
    assert TOKEN not in repr(factory)
    assert TOKEN not in repr(factory.client)
