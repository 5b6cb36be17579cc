"""Hostile input from flow editors, admin callers and a misbehaving rerank API."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from aiohttp import web

from recmesh.v1 import common_pb2, flow_pb2, gateway_pb2, gateway_pb2_grpc, ranker_pb2, ranker_pb2_grpc
from tests.conftest import Trio
from tests.flow.flows import small_flow
from tests.ranker.fake_rerank_api import FakeRerankApi

from .conftest import RERANK_TOKEN

ADMIN = (("authorization", "Bearer admin-secret"),)

# Each template tries to escape the sandbox, run forever or render megabytes.
HOSTILE_TEMPLATES = {
    "python internals": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals of a method": "{{ user.id.upper.__globals__ }}",
    "endless loop": "{% for i in range(10**9) %}{% for j in range(10**9) %}x{% endfor %}{% endfor %}",
    "megabytes by multiplication": "{{ 'x' * 100000000 }}",
    "megabytes by nested loops": "{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}",
    "wide format": "{{ '%100000000s' % 'z' }}",
}


def llm_ranker(query_template: str, document_template: str = "{{ item.comment }}") -> flow_pb2.RankerConfig:
    return flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_LLM, query_template=query_template, document_template=document_template
    )


@pytest.mark.parametrize("template", HOSTILE_TEMPLATES.values(), ids=HOSTILE_TEMPLATES.keys())
async def test_hostile_template_preview_is_invalid_argument(llm_trio: Trio, template: str) -> None:
    async with grpc.aio.insecure_channel(llm_trio.ranker.address) as channel:
        stub = ranker_pb2_grpc.RankerServiceStub(channel)
        request = ranker_pb2.PreviewPromptRequest(
            user_id="u1", item_ids=["i1", "i2"], ranker=llm_ranker(template)
        )

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PreviewPrompt(request, timeout=10)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "query_template" in caught.value.details()


@pytest.mark.parametrize("template", HOSTILE_TEMPLATES.values(), ids=HOSTILE_TEMPLATES.keys())
async def test_hostile_template_rank_falls_back(llm_trio: Trio, api: FakeRerankApi, template: str) -> None:
    async with grpc.aio.insecure_channel(llm_trio.ranker.address) as channel:
        stub = ranker_pb2_grpc.RankerServiceStub(channel)
        request = ranker_pb2.RankRequest(
            user_id="u1",
            candidates=[common_pb2.ScoredItem(item_id=item_id, score=1.0) for item_id in ("i1", "i2", "i5")],
            ranker=llm_ranker("{{ user.id }}", document_template=template),
            flow_version=99,
        )

        reply = await stub.Rank(request, timeout=10)

    assert [item.item_id for item in reply.items] == ["i1", "i2", "i5"]
    assert reply.ranker_used == "none"
    assert reply.fallback.reason == "template_error"
    assert "document_template" in reply.fallback.detail
    assert api.requests == []


def huge_flow(nodes: int) -> flow_pb2.FlowGraph:
    graph = small_flow()
    for index in range(nodes):
        graph.nodes.add(id=f"extra-{index}", latest=flow_pb2.LatestConfig())
    return graph


async def test_flow_with_thousands_of_nodes_is_rejected(trio: Trio) -> None:
    stub = gateway_pb2_grpc.FlowAdminServiceStub(trio.channel)
    graph = huge_flow(3000)

    validated = await stub.ValidateFlow(
        gateway_pb2.ValidateFlowRequest(flow=graph), metadata=ADMIN, timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SetFlow(gateway_pb2.SetFlowRequest(flow=graph), metadata=ADMIN, timeout=10)
    live = await stub.GetFlow(gateway_pb2.GetFlowRequest(), metadata=ADMIN, timeout=10)

    assert not validated.valid
    assert any(
        problem.field == "nodes" and "limit is 256" in problem.message for problem in validated.problems
    )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nodes" in caught.value.details()
    assert "limit is 256" in caught.value.details()
    assert len(live.nodes) < 256


async def test_flow_with_hundreds_of_problems_fits_in_status(trio: Trio) -> None:
    stub = gateway_pb2_grpc.FlowAdminServiceStub(trio.channel)
    # Below the node limit, but each unconnected node is a problem of its own.
    graph = huge_flow(200)

    validated = await stub.ValidateFlow(
        gateway_pb2.ValidateFlowRequest(flow=graph), metadata=ADMIN, timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SetFlow(gateway_pb2.SetFlowRequest(flow=graph), metadata=ADMIN, timeout=10)

    assert len(validated.problems) > 20
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"the flow has {len(validated.problems)} problems" in caught.value.details()
    assert "more problems omitted; call ValidateFlow" in caught.value.details()


ADMIN_CALLS = {
    "GetFlow": gateway_pb2.GetFlowRequest(),
    "SetFlow": gateway_pb2.SetFlowRequest(flow=small_flow()),
    "ValidateFlow": gateway_pb2.ValidateFlowRequest(flow=small_flow()),
    "ResetFlow": gateway_pb2.ResetFlowRequest(),
    "ListFlowVersions": gateway_pb2.ListFlowVersionsRequest(),
    "RollbackFlow": gateway_pb2.RollbackFlowRequest(version=1),
}


@pytest.mark.parametrize("rpc", ADMIN_CALLS.keys())
@pytest.mark.parametrize(
    ("metadata", "message"),
    [((), "missing admin token"), ((("authorization", "Bearer wrong-guess"),), "invalid admin token")],
    ids=["no token", "wrong token"],
)
async def test_admin_rpc_without_valid_token_is_unauthenticated(
    trio: Trio, rpc: str, metadata: tuple[tuple[str, str], ...], message: str
) -> None:
    stub = gateway_pb2_grpc.FlowAdminServiceStub(trio.channel)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, rpc)(ADMIN_CALLS[rpc], metadata=metadata, timeout=5)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert message in caught.value.details()
    assert "wrong-guess" not in caught.value.details()
    assert trio.store.list_flows() == []


async def echo_token_with_401(request: web.Request, payload: dict[str, Any]) -> web.Response:
    """A rerank API that rejects the call and quotes the credentials it was sent, as some do."""
    return web.json_response(
        {"error": f"invalid key: {request.headers.get('Authorization', '')}"}, status=401
    )


async def test_reranker_token_never_logged_or_returned(
    llm_trio: Trio, api: FakeRerankApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.handler = echo_token_with_401
    caplog.set_level(logging.DEBUG)

    reply = await llm_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)
    async with grpc.aio.insecure_channel(llm_trio.ranker.address) as channel:
        preview = await ranker_pb2_grpc.RankerServiceStub(channel).PreviewPrompt(
            ranker_pb2.PreviewPromptRequest(
                user_id="u1", item_ids=["i1"], ranker=llm_ranker("{{ user.id }}")
            ),
            timeout=5,
        )

    headers, _ = api.requests[0]
    assert headers["Authorization"] == f"Bearer {RERANK_TOKEN}"
    assert reply.ranker_used == "none"
    assert "401" in reply.fallbacks[0].detail
    assert RERANK_TOKEN not in str(reply)
    assert RERANK_TOKEN not in str(preview)
    assert caplog.records
    assert RERANK_TOKEN not in caplog.text
    assert all(RERANK_TOKEN not in record.getMessage() for record in caplog.records)
