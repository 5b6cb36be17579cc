"""The gateway's flow parts in one place: the FlowManager, its reload loop and FlowAdminService."""

from __future__ import annotations

import asyncio
import contextlib

import grpc

from recmesh.flow.graph import RECOMMENDER_KINDS
from recmesh.storage import Store
from recmesh.v1 import flow_pb2, gateway_pb2
from services.gateway.flow_admin_servicer import FlowAdminServicer, add_to_server
from services.gateway.flow_manager import FlowManager

SERVICE_NAME = gateway_pb2.DESCRIPTOR.services_by_name["FlowAdminService"].full_name


class FlowAdministration:
    """Owns the live flow of one gateway; a ServiceSpec registers it and runs start() and stop()."""

    def __init__(
        self,
        store: Store,
        default_flow: flow_pb2.FlowGraph,
        reload_seconds: float,
        admin_token: str,
        recommender_types: frozenset[str] = RECOMMENDER_KINDS,
    ) -> None:
        self.manager = FlowManager(store, default_flow, reload_seconds, recommender_types)
        self.servicer = FlowAdminServicer(self.manager, admin_token)
        self._reload_task: asyncio.Task[None] | None = None

    def register(self, server: grpc.aio.Server) -> None:
        add_to_server(server, self.servicer)

    async def start(self) -> None:
        """Load the store's live flow before the first request, then poll for new versions."""
        await asyncio.to_thread(self.manager.refresh)
        self._reload_task = asyncio.create_task(self.manager.run_reload_loop(), name="flow-reload")

    async def stop(self) -> None:
        if self._reload_task is None:
            return
        self._reload_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reload_task
        self._reload_task = None
