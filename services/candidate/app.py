"""Assemble the candidate service from the configuration."""

from __future__ import annotations

import aiohttp

from recmesh.config import Config
from recmesh.model_store import ModelStore
from recmesh.serving import ServiceSpec
from recmesh.storage import Store
from recmesh.training import candidate_models
from recmesh.training.candidate_models import CandidateModels
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc
from services.candidate.candidate_generator import CandidateGenerator
from services.candidate.servicer import CandidateServicer
from services.candidate.source_factory import SourceCache, SourceDeps


def build_candidate_service(config: Config, store: Store) -> ServiceSpec:
    """Build the candidate service; its models load and its HTTP client opens when the server starts."""
    models = ModelStore(store, candidate_models.KIND, CandidateModels.from_bytes)
    deps = SourceDeps(
        store=store, types=FeedbackTypes.from_settings(config.recommend.data_source), models=models
    )
    servicer = CandidateServicer(CandidateGenerator(store), SourceCache(deps), models)

    async def start() -> None:
        deps.http_session = aiohttp.ClientSession()
        await models.refresh()
        models.start(config.recommend.reload_seconds)

    async def stop() -> None:
        await models.stop()
        if deps.http_session is not None:
            await deps.http_session.close()

    return ServiceSpec(
        name="candidate",
        service_names=[candidate_pb2.DESCRIPTOR.services_by_name["CandidateService"].full_name],
        register=lambda server: candidate_pb2_grpc.add_CandidateServiceServicer_to_server(servicer, server),
        on_start=[start],
        on_stop=[stop],
    )
