from __future__ import annotations

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from recmesh.v1 import common_pb2, gateway_pb2

from ..conftest import Trio


async def test_recommend_returns_unseen_items_with_titles(trio: Trio) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    ids = [item.item_id for item in reply.items]
    assert ids == ["i1", "i2", "i5"]
    assert all(item.item.comment.startswith("Item") for item in reply.items)
    assert reply.ranker_used == "none"
    assert reply.flow_version == 0


async def test_recommend_records_every_source_of_an_item(trio: Trio) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    sources = {item.item_id: [s.source for s in item.sources] for item in reply.items}
    assert sources["i1"] == ["popular", "latest"]
    assert sources["i5"] == ["latest"]


async def test_unknown_user_gets_non_personalized_items(trio: Trio) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="nobody-knows-me", n=2), timeout=5)

    assert [item.item_id for item in reply.items] == ["i1", "i2"]


@pytest.mark.parametrize("n", [-1, 51, 10_000])
async def test_recommend_rejects_n_out_of_range(trio: Trio, n: int) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=n), timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "n: must be between 1 and 50" in caught.value.details()


async def test_recommend_rejects_empty_user_id(trio: Trio) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="", n=2), timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_id" in caught.value.details()


async def test_n_zero_takes_the_flow_default(trio: Trio) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=0), timeout=5)

    assert len(reply.items) == 3


async def test_feedback_removes_item_on_next_request(trio: Trio) -> None:
    before = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)
    assert before.items[0].item_id == "i1"

    written = await trio.stub.InsertFeedback(
        gateway_pb2.InsertFeedbackRequest(
            feedback=[common_pb2.Feedback(type="read", user_id="u1", item_id="i1")]
        ),
        timeout=5,
    )
    after = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    assert written.written == 1
    assert "i1" not in [item.item_id for item in after.items]


async def test_pages_share_no_item(trio: Trio) -> None:
    first = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=1, offset=0), timeout=5)
    second = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=1, offset=1), timeout=5)

    assert first.items[0].item_id != second.items[0].item_id


async def test_feedback_for_unknown_item_is_rejected(trio: Trio) -> None:
    request = gateway_pb2.InsertFeedbackRequest(
        feedback=[common_pb2.Feedback(type="like", user_id="u1", item_id="no-such-item")]
    )

    before = trio.store.count_feedback()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.InsertFeedback(request, timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no-such-item" in caught.value.details()
    assert trio.store.count_feedback() == before


async def test_insert_items_then_get_item(trio: Trio) -> None:
    item = common_pb2.Item(
        id="new", categories=["drama"], timestamp=5000, comment="New item", labels={"k": "v"}
    )

    await trio.stub.InsertItems(gateway_pb2.InsertItemsRequest(items=[item]), timeout=5)
    stored = await trio.stub.GetItem(gateway_pb2.GetItemRequest(item_id="new"), timeout=5)

    assert stored == item


async def test_get_unknown_user_is_not_found(trio: Trio) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.GetUser(gateway_pb2.GetUserRequest(user_id="ghost"), timeout=5)

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_candidate_service_down_answers_from_store(trio: Trio) -> None:
    await trio.candidate.stop(grace=0)

    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=5)

    assert [item.item_id for item in reply.items] == ["i5", "i2"]
    assert reply.fallbacks[0].stage == "candidates"
    assert reply.fallbacks[0].reason == "unavailable"
    assert reply.fallbacks[0].used == "gateway:latest"


async def test_every_service_reports_serving_and_reflection(trio: Trio) -> None:
    for runner in (trio.candidate, trio.ranker, trio.gateway):
        async with grpc.aio.insecure_channel(runner.address) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING

            stream = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = [
                service.name async for reply in stream for service in reply.list_services_response.service
            ]
            assert runner.spec.service_names[0] in names
            assert "grpc.health.v1.Health" in names


async def test_metrics_count_recommend_calls(trio: Trio) -> None:
    await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=5)

    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{trio.gateway.http_port}/metrics") as response:
            text = await response.text()

    assert 'recmesh_grpc_requests_total{code="OK",rpc="Recommend",service="gateway"}' in text
    assert 'recmesh_grpc_requests_total{code="OK",rpc="GetCandidates",service="candidate"}' in text


async def test_metrics_count_http_api_calls(trio: Trio) -> None:
    async with aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{trio.gateway.http_port}"
        async with session.get(f"{base}/api/recommend/u1?n=2", headers={"x-request-id": "trace-1"}) as reply:
            assert reply.headers["x-request-id"] == "trace-1"
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()

    assert (
        'recmesh_http_requests_total{route="/api/recommend/{user_id}",service="gateway",status="200"}' in text
    )
    assert "recmesh_http_request_duration_seconds_bucket" in text


async def test_http_api_returns_json(trio: Trio) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{trio.gateway.http_port}/api/recommend/u1?n=2"
        async with session.get(url) as response:
            body = await response.json()
        async with session.get(f"http://127.0.0.1:{trio.gateway.http_port}/api/recommend/u1?n=abc") as bad:
            error = await bad.json()

    assert response.status == 200
    assert [item["item_id"] for item in body["items"]] == ["i1", "i2"]
    assert response.headers["x-request-id"] == body["request_id"]
    assert bad.status == 400
    assert "n: must be an integer" in error["error"]
