"""Assemble the candidate service from the configuration."""

from __future__ import annotations

from recmesh.config import Config
from recmesh.serving import ServiceSpec
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc
from services.candidate.candidate_generator import CandidateGenerator
from services.candidate.servicer import CandidateServicer
from services.candidate.source_factory import SourceCache, SourceDeps


def build_candidate_service(config: Config, store: Store) -> ServiceSpec:
    deps = SourceDeps(store=store, types=FeedbackTypes.from_settings(config.recommend.data_source), extras={})
    servicer = CandidateServicer(CandidateGenerator(store), SourceCache(deps))
    return ServiceSpec(
        name="candidate",
        service_names=[candidate_pb2.DESCRIPTOR.services_by_name["CandidateService"].full_name],
        register=lambda server: candidate_pb2_grpc.add_CandidateServiceServicer_to_server(servicer, server),
    )
