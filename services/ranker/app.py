"""Assemble the ranker service from the configuration."""

from __future__ import annotations

from recmesh.config import Config
from recmesh.serving import ServiceSpec
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import ranker_pb2, ranker_pb2_grpc
from services.ranker.servicer import RankerServicer, ScorerRegistry


def build_ranker_service(config: Config, store: Store) -> ServiceSpec:
    scorers = ScorerRegistry()
    servicer = RankerServicer(store, scorers, FeedbackTypes.from_settings(config.recommend.data_source))
    return ServiceSpec(
        name="ranker",
        service_names=[ranker_pb2.DESCRIPTOR.services_by_name["RankerService"].full_name],
        register=lambda server: ranker_pb2_grpc.add_RankerServiceServicer_to_server(servicer, server),
    )
