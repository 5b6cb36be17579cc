from __future__ import annotations

import aiohttp
import grpc
import pytest

from recmesh.v1 import common_pb2, gateway_pb2

from ..conftest import Trio


async def recommend_error(trio: Trio, request: gateway_pb2.RecommendRequest) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.Recommend(request, timeout=5)
    return caught.value


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"user_id": ""}, "user_id: must not be empty"),
        ({"user_id": "u" * 300}, "user_id: at most 256 characters"),
        ({"user_id": "bad\x00id"}, "user_id: must not contain control characters"),
        ({"user_id": "u1", "n": -5}, "n: must be between 1 and 50"),
        ({"user_id": "u1", "n": 2**31 - 1}, "n: must be between 1 and 50"),
        ({"user_id": "u1", "offset": -1}, "offset: must be between 0 and 10000"),
        ({"user_id": "u1", "offset": 2**31 - 1}, "offset: must be between 0 and 10000"),
        ({"user_id": "u1", "categories": ["c"] * 101}, "categories: at most 100"),
    ],
)
async def test_invalid_recommend_request_names_field(trio: Trio, request_fields: dict, field: str) -> None:
    error = await recommend_error(trio, gateway_pb2.RecommendRequest(**request_fields))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()


async def test_non_utf8_user_id_is_invalid_argument(trio: Trio) -> None:
    # Field 1 (user_id), length 2, bytes that are not UTF-8: no protobuf client would send them.
    raw = b"\x0a\x02\xff\xfe"
    call = trio.channel.unary_unary(
        "/recmesh.v1.RecommendService/Recommend",
        request_serializer=lambda data: data,
        response_deserializer=gateway_pb2.RecommendResponse.FromString,
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(raw, timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Recommend request does not parse" in caught.value.details()


async def test_malformed_bytes_are_invalid_argument(trio: Trio) -> None:
    call = trio.channel.unary_unary(
        "/recmesh.v1.RecommendService/Recommend",
        request_serializer=lambda data: data,
        response_deserializer=gateway_pb2.RecommendResponse.FromString,
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(b"\xff\xff\xff\xff", timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_oversized_message_is_resource_exhausted(trio: Trio) -> None:
    error = await recommend_error(trio, gateway_pb2.RecommendRequest(user_id="u" * (5 * 1024 * 1024)))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_service_keeps_serving_after_bad_requests(trio: Trio) -> None:
    await recommend_error(trio, gateway_pb2.RecommendRequest(user_id="", n=-1))

    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=5)

    assert len(reply.items) == 2


async def test_offset_near_limit_names_offset(trio: Trio) -> None:
    error = await recommend_error(trio, gateway_pb2.RecommendRequest(user_id="u1", n=5, offset=10_000))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "offset: must be between 0 and 10000 - n (9995), got 10000" in error.details()


async def test_blank_user_id_is_invalid(trio: Trio) -> None:
    error = await recommend_error(trio, gateway_pb2.RecommendRequest(user_id="   ", n=2))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "user_id: must not be empty or blank" in error.details()


async def test_feedback_of_unknown_type_is_rejected(trio: Trio) -> None:
    request = gateway_pb2.InsertFeedbackRequest(
        feedback=[common_pb2.Feedback(type="lik", user_id="u1", item_id="i1")]
    )
    before = trio.store.count_feedback()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await trio.stub.InsertFeedback(request, timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "feedback[0].type: 'lik' is not a feedback type of the live flow" in caught.value.details()
    assert trio.store.count_feedback() == before


async def test_http_api_applies_the_user_id_limit(trio: Trio) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{trio.gateway.http_port}/api/recommend/{'u' * 300}"
        async with session.get(url) as response:
            body = await response.json()

    assert response.status == 400
    assert "user_id: at most 256 characters" in body["error"]
