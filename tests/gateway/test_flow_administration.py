from __future__ import annotations

import asyncio
from pathlib import Path

from recmesh.storage.sqlite import SQLiteStore
from services.gateway.flow_administration import SERVICE_NAME, FlowAdministration
from tests.flow.flows import node, small_flow


async def test_start_loads_live_flow_and_stop_ends_loop(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'flows.db'}")
    saved = small_flow()
    node(saved, "recommend").recommend.max_n = 25
    store.save_flow(saved.SerializeToString(), "saved before the gateway started")
    administration = FlowAdministration(store, small_flow(), reload_seconds=0.05, admin_token="token")

    await administration.start()
    try:
        assert administration.manager.current().version == 1
        assert node(administration.manager.current().graph, "recommend").recommend.max_n == 25
    finally:
        await administration.stop()
        store.close()

    assert [task for task in asyncio.all_tasks() if task.get_name() == "flow-reload"] == []
    assert SERVICE_NAME == "recmesh.v1.FlowAdminService"
