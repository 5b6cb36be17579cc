from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from recmesh.flow.problems import FlowValidationError
from recmesh.storage import StoreUnavailable
from recmesh.storage.sqlite import SQLiteStore
from recmesh.v1 import flow_pb2
from services.gateway.flow_manager import FlowManager, FlowVersionNotFound, StoredFlowError
from tests.flow.flows import node, small_flow

RELOAD_SECONDS = 0.05


def default_flow() -> flow_pb2.FlowGraph:
    graph = small_flow()
    graph.comment = "from the configuration file"
    return graph


def edited_flow(max_n: int) -> flow_pb2.FlowGraph:
    graph = small_flow()
    node(graph, "recommend").recommend.max_n = max_n
    return graph


def reloads(outcome: str) -> float:
    return REGISTRY.get_sample_value("recmesh_flow_reloads_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'recmesh.db'}")
    yield store
    store.close()


@pytest.fixture
def manager(store: SQLiteStore) -> FlowManager:
    return FlowManager(store, default_flow(), RELOAD_SECONDS)


def test_starts_on_default_flow(manager: FlowManager) -> None:
    snapshot = manager.current()

    assert snapshot.version == 0
    assert snapshot.graph.comment == "from the configuration file"
    assert REGISTRY.get_sample_value("recmesh_flow_version") == 0


def test_set_flow_saves_and_swaps(manager: FlowManager, store: SQLiteStore) -> None:
    version = manager.set_flow(edited_flow(50), "smaller pages")

    snapshot = manager.current()
    assert version == 1
    assert snapshot.version == 1
    assert snapshot.graph.version == 1
    assert snapshot.graph.comment == "smaller pages"
    assert node(snapshot.graph, "recommend").recommend.max_n == 50
    assert store.live_flow_version() == 1
    assert REGISTRY.get_sample_value("recmesh_flow_version") == 1


def test_set_flow_rejects_invalid_flow(manager: FlowManager, store: SQLiteStore) -> None:
    manager.set_flow(edited_flow(50))
    graph = edited_flow(40)
    graph.edges.add(source="ranker", target="popular")
    graph.edges.add(source="ghost", target="ranker")

    with pytest.raises(FlowValidationError) as caught:
        manager.set_flow(graph)

    assert len(caught.value.problems) == 3  # the cycle, the ranker → recommender edge, the ghost
    assert manager.current().version == 1
    assert store.live_flow_version() == 1
    assert len(store.list_flows()) == 1


def test_reset_returns_to_default(manager: FlowManager, store: SQLiteStore) -> None:
    manager.set_flow(edited_flow(50))

    snapshot = manager.reset()

    assert snapshot.version == 0
    assert manager.current().version == 0
    assert manager.current().graph.comment == "from the configuration file"
    assert store.live_flow_version() == 0


def test_rollback_to_earlier_version(manager: FlowManager, store: SQLiteStore) -> None:
    manager.set_flow(edited_flow(50), "first")
    manager.set_flow(edited_flow(60), "second")

    assert manager.rollback(1) == 1

    assert manager.current().version == 1
    assert node(manager.current().graph, "recommend").recommend.max_n == 50
    assert store.live_flow_version() == 1


def test_rollback_to_zero_resets(manager: FlowManager) -> None:
    manager.set_flow(edited_flow(50))

    assert manager.rollback(0) == 0
    assert manager.current().version == 0


def test_rollback_unknown_version(manager: FlowManager) -> None:
    manager.set_flow(edited_flow(50))

    with pytest.raises(FlowVersionNotFound, match="flow version 9 not found"):
        manager.rollback(9)
    assert manager.current().version == 1


def test_rollback_to_corrupt_version(manager: FlowManager, store: SQLiteStore) -> None:
    manager.set_flow(edited_flow(50))
    store.save_flow(b"\xff\xff\xff not a flow")
    store.set_live_flow(1)

    with pytest.raises(StoredFlowError, match="stored flow version 2"):
        manager.rollback(2)
    assert manager.current().version == 1


def test_list_versions_marks_live(manager: FlowManager) -> None:
    manager.set_flow(edited_flow(50), "first")
    manager.set_flow(edited_flow(60), "second")
    manager.rollback(1)

    versions = manager.list_versions(10)

    assert [v.version for v in versions] == [2, 1]
    assert [v.comment for v in versions] == ["second", "first"]
    assert [v.live for v in versions] == [False, True]
    assert all(v.created_at > 0 for v in versions)
    assert [v.version for v in manager.list_versions(1)] == [2]


def test_get_saved_and_default(manager: FlowManager) -> None:
    manager.set_flow(edited_flow(50))
    manager.set_flow(edited_flow(60))

    assert node(manager.get(1).graph, "recommend").recommend.max_n == 50
    assert manager.get(0).graph.comment == "from the configuration file"
    with pytest.raises(FlowVersionNotFound):
        manager.get(5)


def test_corrupt_stored_flow_is_rejected(
    manager: FlowManager, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    manager.set_flow(edited_flow(50))
    rejected_before = reloads("rejected")
    store.save_flow(b"\xff\xff\xff not a flow", "broken")

    with caplog.at_level(logging.ERROR):
        assert manager.refresh() is False
        assert manager.refresh() is False

    assert manager.current().version == 1
    assert reloads("rejected") == rejected_before + 1
    assert "rejected stored flow version 2, still serving version 1" in caplog.text


def test_invalid_stored_flow_is_rejected(manager: FlowManager, store: SQLiteStore) -> None:
    graph = edited_flow(50)
    graph.edges.add(source="recommend", target="data_source")
    store.save_flow(graph.SerializeToString())

    assert manager.refresh() is False
    assert manager.current().version == 0


def test_refresh_picks_up_version_and_logs(
    manager: FlowManager, store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    swapped_before = reloads("swapped")
    store.save_flow(edited_flow(70).SerializeToString(), "from another replica")

    with caplog.at_level(logging.INFO):
        assert manager.refresh() is True

    assert manager.current().version == 1
    assert reloads("swapped") == swapped_before + 1
    assert "flow version changed from 0 to 1" in caplog.text


def test_unavailable_store_keeps_current_flow(manager: FlowManager, store: SQLiteStore) -> None:
    manager.set_flow(edited_flow(50))
    failures_before = reloads("store_unavailable")

    def unavailable() -> int:
        raise StoreUnavailable("database is locked")

    store.live_flow_version = unavailable  # type: ignore[method-assign]

    assert manager.refresh() is False
    assert manager.current().version == 1
    assert reloads("store_unavailable") == failures_before + 1


async def test_two_replicas_share_flow(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first_store, second_store = SQLiteStore(url), SQLiteStore(url)
    first = FlowManager(first_store, default_flow(), RELOAD_SECONDS)
    second = FlowManager(second_store, default_flow(), RELOAD_SECONDS)
    loop_task = asyncio.create_task(second.run_reload_loop())
    try:
        version = await asyncio.to_thread(first.set_flow, edited_flow(30), "pushed to the first replica")
        await wait_for_version(second, version)
        assert node(second.current().graph, "recommend").recommend.max_n == 30

        await asyncio.to_thread(first.reset)
        await wait_for_version(second, 0)
        assert second.current().graph.comment == "from the configuration file"
    finally:
        loop_task.cancel()
        first_store.close()
        second_store.close()


async def wait_for_version(manager: FlowManager, version: int) -> None:
    # Generous next to the 50 ms reload interval: the assertion is that the swap happens at all.
    for _ in range(200):
        if manager.current().version == version:
            return
        await asyncio.sleep(RELOAD_SECONDS)
    raise AssertionError(f"replica still on version {manager.current().version}, expected {version}")
