"""Rank with a switch ranker over real gRPC: a real FM model, and a rerank API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from recmesh.config import RerankerApiSettings
from recmesh.model_store import ModelStore
from recmesh.storage import Store, open_store
from recmesh.training import fm_model
from recmesh.training.fm_model import FMModel
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes, UserContext
from recmesh.v1 import common_pb2, flow_pb2, ranker_pb2, ranker_pb2_grpc
from services.ranker.fm_scorer import FMScorer
from services.ranker.llm_scorer import LlmScorerFactory
from services.ranker.scorer import Candidate
from services.ranker.servicer import RankerServicer, ScorerRegistry
from tests import tiny_corpus
from tests.ranker.fake_rerank_api import FakeRerankApi, json_reply

# In the tiny corpus u5 likes one film and u1 three, so u5 takes the llm branch and u1 the fm one.
FEW_LIKES_USER = "u5"
MANY_LIKES_USER = "u1"
CANDIDATE_IDS = ["d1", "a3", "d3", "a2"]
QUERY = "{% for f in feedback %}{{ f.item.id }} {% endfor %}"
DOCUMENT = "{{ item.id }} {{ item.categories | join(',') }}"


def switch_node(url: str, **llm_overrides: Any) -> flow_pb2.RankerConfig:
    """positive < 2 → llm with fm as its fallback; positive >= 2 → fm."""
    llm = flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_LLM,
        query_template=QUERY,
        document_template=DOCUMENT,
        reranker_api=flow_pb2.RerankerApi(url=url, model="m"),
        timeout_ms=2000,
        connect_timeout_ms=300,
        max_documents=10,
        fallback=flow_pb2.RANKER_TYPE_FM,
    )
    for key, value in llm_overrides.items():
        setattr(llm, key, value)
    switch = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_SWITCH)
    switch.branches.add(count=flow_pb2.HISTORY_COUNT_POSITIVE, max_count=2, ranker=llm)
    switch.branches.add(
        count=flow_pb2.HISTORY_COUNT_POSITIVE,
        min_count=2,
        ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM),
    )
    return switch


def request(user_id: str, ranker: flow_pb2.RankerConfig) -> ranker_pb2.RankRequest:
    return ranker_pb2.RankRequest(
        user_id=user_id,
        candidates=[
            common_pb2.ScoredItem(item_id=item_id, score=float(len(CANDIDATE_IDS) - position))
            for position, item_id in enumerate(CANDIDATE_IDS)
        ],
        ranker=ranker,
        context_size=5,
        data_source=flow_pb2.DataSourceConfig(positive_feedback_types=["like"], read_feedback_types=["read"]),
        flow_version=3,
    )


def branch_requests(branch: str, ranker: str) -> float:
    value = REGISTRY.get_sample_value(
        "recmesh_switch_branch_requests_total", {"branch": branch, "ranker": ranker}
    )
    return value or 0.0


@pytest.fixture(scope="module")
def models_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("switch") / "store.db"
    store = open_store(f"sqlite:///{path}")
    store.insert_users(tiny_corpus.USERS)
    store.insert_items(tiny_corpus.ITEMS)
    store.insert_feedback(tiny_corpus.feedback())
    save_models(store, train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options()))
    yield store
    store.close()


@pytest.fixture
async def fm(models_store: Store) -> FMScorer:
    models = ModelStore(models_store, fm_model.KIND, FMModel.from_bytes)
    assert models.load_latest()
    return FMScorer(models, models_store)


@pytest.fixture
async def ranker(models_store: Store, fm: FMScorer) -> AsyncIterator[ranker_pb2_grpc.RankerServiceStub]:
    """A RankerServicer with the fm and llm scorers on a loopback port chosen by the system."""
    llm = LlmScorerFactory(RerankerApiSettings("http://127.0.0.1:1/unused", "", "m"))
    scorers = ScorerRegistry()
    scorers.add("fm", lambda config, version: fm)
    scorers.add("llm", llm.scorer)
    servicer = RankerServicer(models_store, scorers, FeedbackTypes(), llm)

    server = grpc.aio.server()
    ranker_pb2_grpc.add_RankerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield ranker_pb2_grpc.RankerServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(0)
        await llm.close()


async def fm_order(fm: FMScorer, user_id: str) -> list[str]:
    """Return the candidates in the order the FM model scores them for the user, best first."""
    scores = await fm.score(UserContext(user_id=user_id), [Candidate(i, 0.0) for i in CANDIDATE_IDS])
    ranked = sorted(
        zip(scores, range(len(CANDIDATE_IDS)), CANDIDATE_IDS, strict=True), key=lambda s: (-s[0], s[1])
    )
    return [item_id for _, _, item_id in ranked]


async def test_few_likes_take_llm_branch(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    before = branch_requests("0", "llm")

    reply = await ranker.Rank(request(FEW_LIKES_USER, switch_node(api.url)))

    assert reply.ranker_used == "llm"
    assert reply.branch == "branches[0] (positive < 2)"
    assert not reply.HasField("fallback")
    # The fake API scores the last document highest, so the reranked order is the reverse.
    assert [item.item_id for item in reply.items] == list(reversed(CANDIDATE_IDS))
    assert branch_requests("0", "llm") == before + 1


async def test_llm_branch_sends_user_history(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    await ranker.Rank(request(FEW_LIKES_USER, switch_node(api.url)))

    (_, payload) = api.requests[0]
    assert payload["query"] == "a3 "
    assert payload["documents"] == ["d1 drama", "a3 action", "d3 drama", "a2 action"]


async def test_many_likes_take_fm_branch(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub, fm: FMScorer
) -> None:
    before = branch_requests("1", "fm")

    reply = await ranker.Rank(request(MANY_LIKES_USER, switch_node(api.url)))

    assert reply.ranker_used == "fm"
    assert reply.branch == "branches[1] (positive >= 2)"
    assert not reply.HasField("fallback")
    assert [item.item_id for item in reply.items] == await fm_order(fm, MANY_LIKES_USER)
    assert api.requests == []
    assert branch_requests("1", "fm") == before + 1


async def test_fm_branch_orders_liked_genre_first(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    reply = await ranker.Rank(request(MANY_LIKES_USER, switch_node(api.url)))

    # u1 likes only action films, so the trained model puts a2 and a3 before the dramas.
    assert {item.item_id for item in reply.items[:2]} == {"a2", "a3"}


async def test_failed_llm_branch_uses_its_fallback(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub, fm: FMScorer
) -> None:
    api.handler = json_reply({"error": "overloaded"}, status=500)

    reply = await ranker.Rank(request(FEW_LIKES_USER, switch_node(api.url)))

    assert reply.ranker_used == "fm"
    assert reply.branch == "branches[0] (positive < 2)"
    assert reply.fallback.stage == "ranker"
    assert reply.fallback.reason == "http_status"
    assert reply.fallback.used == "fm"
    assert [item.item_id for item in reply.items] == await fm_order(fm, FEW_LIKES_USER)


async def test_llm_branch_timeout_is_its_own(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    async def hang(request: web.Request, payload: dict[str, Any]) -> web.Response:
        await api.released.wait()
        return web.json_response({"results": []})

    api.handler = hang
    node = switch_node(api.url, timeout_ms=100, fallback=flow_pb2.RANKER_TYPE_NONE)

    reply = await asyncio.wait_for(ranker.Rank(request(FEW_LIKES_USER, node)), timeout=10)

    assert reply.ranker_used == "none"
    assert reply.fallback.reason == "timeout"
    assert [item.item_id for item in reply.items] == CANDIDATE_IDS


async def test_default_branch_label(api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub) -> None:
    node = switch_node(api.url)
    del node.branches[1]
    node.branches.add(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE))
    before = branch_requests("default", "none")

    reply = await ranker.Rank(request(MANY_LIKES_USER, node))

    assert reply.ranker_used == "none"
    assert reply.branch == "branches[1] (default)"
    assert [item.item_id for item in reply.items] == CANDIDATE_IDS
    assert branch_requests("default", "none") == before + 1


async def test_uncovered_user_is_invalid_argument(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    node = switch_node(api.url)
    del node.branches[1]

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ranker.Rank(request(MANY_LIKES_USER, node))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no branch applies to user 'u1' with 3 positive" in (raised.value.details() or "")


async def test_history_count_observed(api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub) -> None:
    before = REGISTRY.get_sample_value("recmesh_switch_history_feedbacks_count", {"count": "positive"}) or 0.0

    await ranker.Rank(request(MANY_LIKES_USER, switch_node(api.url)))

    after = REGISTRY.get_sample_value("recmesh_switch_history_feedbacks_count", {"count": "positive"})
    assert after == before + 1


async def test_non_switch_reply_has_no_branch(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    reply = await ranker.Rank(request(MANY_LIKES_USER, flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)))

    assert reply.ranker_used == "fm"
    assert reply.branch == ""


async def test_preview_shows_llm_branch_prompt(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    reply = await ranker.PreviewPrompt(
        ranker_pb2.PreviewPromptRequest(
            user_id=FEW_LIKES_USER, item_ids=["d1", "a2"], ranker=switch_node(api.url), context_size=5
        )
    )

    assert reply.query == "a3 "
    assert [(d.item_id, d.text) for d in reply.documents] == [("d1", "d1 drama"), ("a2", "a2 action")]
    assert api.requests == []


async def test_preview_of_fm_branch_is_invalid(
    api: FakeRerankApi, ranker: ranker_pb2_grpc.RankerServiceStub
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ranker.PreviewPrompt(
            ranker_pb2.PreviewPromptRequest(
                user_id=MANY_LIKES_USER, item_ids=["d1"], ranker=switch_node(api.url)
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "takes branches[1] (positive >= 2), whose fm ranker has no prompt" in (
        raised.value.details() or ""
    )
