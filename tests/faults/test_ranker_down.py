from __future__ import annotations

from recmesh.v1 import gateway_pb2
from tests.conftest import Trio
from tests.ranker.fake_rerank_api import FakeRerankApi, json_reply

# The merged order for u1 over the popular and latest recommenders (see the end-to-end tests).
MERGED_ORDER = ["i1", "i2", "i5"]


async def test_llm_ranker_reverses_merged_order(llm_trio: Trio, api: FakeRerankApi) -> None:
    reply = await llm_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    assert reply.ranker_used == "llm"
    assert not reply.fallbacks
    assert len(api.requests) == 1
    assert [item.item_id for item in reply.items] != MERGED_ORDER


async def test_ranker_down_answers_in_merged_order(llm_trio: Trio, api: FakeRerankApi) -> None:
    await llm_trio.ranker.stop(grace=0)

    reply = await llm_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    assert [item.item_id for item in reply.items] == MERGED_ORDER
    assert reply.ranker_used == "none"
    assert len(reply.fallbacks) == 1
    assert reply.fallbacks[0].stage == "ranker"
    assert reply.fallbacks[0].reason == "unavailable"
    assert reply.fallbacks[0].used == "none"
    assert "ranker service: UNAVAILABLE" in reply.fallbacks[0].detail
    assert api.requests == []


async def test_rerank_api_failing_names_fallback(llm_trio: Trio, api: FakeRerankApi) -> None:
    api.handler = json_reply({"error": "overloaded"}, status=503)

    reply = await llm_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    assert [item.item_id for item in reply.items] == MERGED_ORDER
    assert reply.ranker_used == "none"
    assert reply.fallbacks[0].stage == "ranker"
    assert reply.fallbacks[0].used == "none"
    assert "503" in reply.fallbacks[0].detail
