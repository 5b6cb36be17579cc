"""Assemble the gateway from the configuration."""

from __future__ import annotations

import grpc

from recmesh.config import Config
from recmesh.flow.default import flow_from_config
from recmesh.serving import ServiceSpec
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import candidate_pb2_grpc, gateway_pb2, gateway_pb2_grpc, ranker_pb2_grpc
from services.candidate.source_factory import SourceCache, SourceDeps
from services.gateway.flow_administration import SERVICE_NAME as FLOW_ADMIN_SERVICE
from services.gateway.flow_administration import FlowAdministration
from services.gateway.flow_executor import FlowExecutor
from services.gateway.flow_plan import RECOMMENDER_TYPES
from services.gateway.http_api import recommend_routes
from services.gateway.recommend_servicer import PlanCache, RecommendServicer

# Retry a call that failed before reaching the server (a restarting service) within its deadline.
RETRY_POLICY = """{
  "methodConfig": [{
    "name": [{"service": "recmesh.v1.CandidateService"}, {"service": "recmesh.v1.RankerService"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}"""


def channel_options(config: Config) -> list[tuple[str, object]]:
    return [
        ("grpc.service_config", RETRY_POLICY),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", config.server.max_message_bytes),
        ("grpc.max_send_message_length", config.server.max_message_bytes),
    ]


def build_gateway_service(
    config: Config, store: Store, candidate_address: str | None = None, ranker_address: str | None = None
) -> ServiceSpec:
    """Build the gateway; call it inside the running event loop, which its channels bind to."""
    options = channel_options(config)
    candidate_channel = grpc.aio.insecure_channel(
        candidate_address or config.server.address("candidate"), options=options
    )
    ranker_channel = grpc.aio.insecure_channel(
        ranker_address or config.server.address("ranker"), options=options
    )
    timeout = config.recommend.timeout_ms / 1000

    flows = FlowAdministration(
        store,
        flow_from_config(config.recommend),
        config.recommend.reload_seconds,
        config.admin_token,
        RECOMMENDER_TYPES,
    )
    plans = PlanCache(lambda: flows.manager.current().graph)
    deps = SourceDeps(store=store, types=FeedbackTypes.from_settings(config.recommend.data_source))
    executor = FlowExecutor(
        store,
        candidate_pb2_grpc.CandidateServiceStub(candidate_channel),
        ranker_pb2_grpc.RankerServiceStub(ranker_channel),
        SourceCache(deps),
        timeout_seconds=timeout,
    )
    servicer = RecommendServicer(store, executor, plans)

    async def close_channels() -> None:
        await candidate_channel.close()
        await ranker_channel.close()

    def register(server: grpc.aio.Server) -> None:
        gateway_pb2_grpc.add_RecommendServiceServicer_to_server(servicer, server)
        flows.register(server)

    service_name = gateway_pb2.DESCRIPTOR.services_by_name["RecommendService"].full_name
    return ServiceSpec(
        name="gateway",
        service_names=[service_name, FLOW_ADMIN_SERVICE],
        register=register,
        http_routes=recommend_routes(executor, plans, timeout),
        on_start=[flows.start],
        on_stop=[flows.stop, close_channels],
    )
