from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from recmesh.storage import StoreUnavailable
from recmesh.storage.sqlite import SQLiteStore
from recmesh.v1 import flow_pb2, gateway_pb2, gateway_pb2_grpc
from services.gateway.flow_admin_servicer import PROBLEMS_TRAILER, FlowAdminServicer, add_to_server
from services.gateway.flow_manager import FlowManager
from tests.flow.flows import node, small_flow

TOKEN = "admin-token-for-tests"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
SERVED_RECOMMENDERS = frozenset({"latest", "non_personalized", "collaborative"})


@dataclass
class AdminServer:
    stub: gateway_pb2_grpc.FlowAdminServiceStub
    manager: FlowManager
    store: SQLiteStore


async def start_admin(tmp_path: Path, token: str) -> AsyncIterator[AdminServer]:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'admin.db'}")
    default = small_flow()
    default.comment = "configuration file"
    manager = FlowManager(store, default, reload_seconds=1.0, recommender_types=SERVED_RECOMMENDERS)
    server = grpc.aio.server()
    add_to_server(server, FlowAdminServicer(manager, token))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield AdminServer(gateway_pb2_grpc.FlowAdminServiceStub(channel), manager, store)
    finally:
        await channel.close()
        await server.stop(None)
        store.close()


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[AdminServer]:
    async for server in start_admin(tmp_path, TOKEN):
        yield server


@pytest.fixture
async def disabled_admin(tmp_path: Path) -> AsyncIterator[AdminServer]:
    async for server in start_admin(tmp_path, ""):
        yield server


def edited_flow(max_n: int) -> flow_pb2.FlowGraph:
    graph = small_flow()
    node(graph, "recommend").recommend.max_n = max_n
    return graph


async def test_call_without_token_is_unauthenticated(admin: AdminServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.GetFlow(gateway_pb2.GetFlowRequest())

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "missing admin token" in (caught.value.details() or "")


async def test_wrong_token_is_unauthenticated(admin: AdminServer) -> None:
    wrong = (("authorization", "Bearer guessed-token"),)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.SetFlow(gateway_pb2.SetFlowRequest(flow=edited_flow(50)), metadata=wrong)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "guessed-token" not in (caught.value.details() or "")
    assert admin.manager.current().version == 0


async def test_non_bearer_scheme_is_unauthenticated(admin: AdminServer) -> None:
    basic = (("authorization", f"Basic {TOKEN}"),)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.ListFlowVersions(gateway_pb2.ListFlowVersionsRequest(), metadata=basic)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not of the form `Bearer TOKEN`" in (caught.value.details() or "")
    assert TOKEN not in (caught.value.details() or "")


async def test_empty_configured_token_disables_admin(disabled_admin: AdminServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await disabled_admin.stub.GetFlow(
            gateway_pb2.GetFlowRequest(), metadata=(("authorization", "Bearer "),)
        )

    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "RECMESH_ADMIN_TOKEN" in (caught.value.details() or "")


async def test_set_flow_with_cycle_and_unknown_recommender(admin: AdminServer) -> None:
    graph = edited_flow(50)
    graph.nodes.add(id="similar", item_to_item=flow_pb2.ItemToItemConfig(name="similar", context_size=5))
    graph.edges.add(source="data_source", target="similar")
    graph.edges.add(source="similar", target="ranker")
    graph.nodes.add(id="again", latest=flow_pb2.LatestConfig())
    graph.edges.add(source="popular", target="again")
    graph.edges.add(source="again", target="popular")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.SetFlow(gateway_pb2.SetFlowRequest(flow=graph, comment="broken"), metadata=AUTH)

    details = caught.value.details() or ""
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cycle: popular → again → popular" in details
    assert "node 'similar', item_to_item: the candidate service has no item_to_item recommender" in details
    trailer = dict(caught.value.trailing_metadata() or ())[PROBLEMS_TRAILER]
    problems = gateway_pb2.ValidateFlowResponse.FromString(trailer).problems
    assert {(p.node_id, p.field) for p in problems} >= {("popular", "edges"), ("similar", "item_to_item")}
    assert admin.manager.current().version == 0
    assert admin.store.list_flows() == []
    live = await admin.stub.GetFlow(gateway_pb2.GetFlowRequest(), metadata=AUTH)
    assert live.comment == "configuration file"


async def test_validate_flow_returns_problems(admin: AdminServer) -> None:
    graph = edited_flow(50)
    node(graph, "recommend").recommend.default_n = 80

    reply = await admin.stub.ValidateFlow(gateway_pb2.ValidateFlowRequest(flow=graph), metadata=AUTH)

    assert reply.valid is False
    assert [(p.node_id, p.field) for p in reply.problems] == [("recommend", "recommend.default_n")]
    assert "must not exceed max_n (50)" in reply.problems[0].message
    valid = await admin.stub.ValidateFlow(gateway_pb2.ValidateFlowRequest(flow=small_flow()), metadata=AUTH)
    assert valid.valid is True
    assert len(valid.problems) == 0


async def test_set_get_list_rollback_reset(admin: AdminServer) -> None:
    first = await admin.stub.SetFlow(
        gateway_pb2.SetFlowRequest(flow=edited_flow(50), comment="first"), metadata=AUTH
    )
    second = await admin.stub.SetFlow(
        gateway_pb2.SetFlowRequest(flow=edited_flow(60), comment="second"), metadata=AUTH
    )
    assert (first.version, second.version) == (1, 2)

    live = await admin.stub.GetFlow(gateway_pb2.GetFlowRequest(), metadata=AUTH)
    assert live.version == 2
    assert live.comment == "second"
    assert node(live, "recommend").recommend.max_n == 60
    older = await admin.stub.GetFlow(gateway_pb2.GetFlowRequest(version=1), metadata=AUTH)
    assert node(older, "recommend").recommend.max_n == 50

    rolled = await admin.stub.RollbackFlow(gateway_pb2.RollbackFlowRequest(version=1), metadata=AUTH)
    assert rolled.version == 1
    listing = await admin.stub.ListFlowVersions(gateway_pb2.ListFlowVersionsRequest(limit=10), metadata=AUTH)
    assert [(v.version, v.comment, v.live) for v in listing.versions] == [
        (2, "second", False),
        (1, "first", True),
    ]
    assert admin.manager.current().version == 1

    reset = await admin.stub.ResetFlow(gateway_pb2.ResetFlowRequest(), metadata=AUTH)
    assert reset.version == 0
    assert reset.comment == "configuration file"
    assert admin.store.live_flow_version() == 0
    listing = await admin.stub.ListFlowVersions(gateway_pb2.ListFlowVersionsRequest(), metadata=AUTH)
    assert [v.live for v in listing.versions] == [False, False]


async def test_unknown_version_is_not_found(admin: AdminServer) -> None:
    for call, request in (
        (admin.stub.GetFlow, gateway_pb2.GetFlowRequest(version=42)),
        (admin.stub.RollbackFlow, gateway_pb2.RollbackFlowRequest(version=42)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=AUTH)

        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert "flow version 42 not found" in (caught.value.details() or "")


async def test_set_flow_without_flow_is_invalid(admin: AdminServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.SetFlow(gateway_pb2.SetFlowRequest(), metadata=AUTH)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "flow is missing" in (caught.value.details() or "")


async def test_unavailable_store_is_unavailable(admin: AdminServer) -> None:
    def unavailable(limit: int = 50) -> list[object]:
        raise StoreUnavailable("cannot open SQLite database /secret/path.db")

    admin.store.list_flows = unavailable  # type: ignore[method-assign]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.ListFlowVersions(gateway_pb2.ListFlowVersionsRequest(), metadata=AUTH)

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "/secret/path.db" not in (caught.value.details() or "")


async def test_rollback_to_now_invalid_flow_fails_precondition(admin: AdminServer) -> None:
    graph = small_flow()
    graph.nodes.add(id="partner", external=flow_pb2.ExternalConfig(url="http://127.0.0.1:9/", timeout_ms=100))
    graph.edges.add(source="data_source", target="partner")
    graph.edges.add(source="partner", target="ranker")
    admin.store.save_flow(graph.SerializeToString(), "saved when external was served")
    admin.store.set_live_flow(0)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.stub.RollbackFlow(gateway_pb2.RollbackFlowRequest(version=1), metadata=AUTH)

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no external recommender" in (caught.value.details() or "")
    assert admin.manager.current().version == 0
