"""Assemble the ranker service from the configuration."""

from __future__ import annotations

from recmesh.config import Config
from recmesh.model_store import ModelStore
from recmesh.serving import ServiceSpec
from recmesh.storage import Store
from recmesh.training import fm_model
from recmesh.training.fm_model import FMModel
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import ranker_pb2, ranker_pb2_grpc
from services.ranker.fm_scorer import FMScorer
from services.ranker.llm_scorer import LlmScorerFactory
from services.ranker.servicer import RankerServicer, ScorerRegistry


def build_ranker_service(config: Config, store: Store) -> ServiceSpec:
    """Build the ranker; the FM model loads when the server starts and reloads when a new one is trained."""
    models = ModelStore(store, fm_model.KIND, FMModel.from_bytes)
    fm = FMScorer(models, store)
    llm = LlmScorerFactory(config.recommend.ranker.reranker_api)
    scorers = ScorerRegistry()
    scorers.add("fm", lambda ranker, version: fm)
    scorers.add("llm", llm.scorer)
    servicer = RankerServicer(store, scorers, FeedbackTypes.from_settings(config.recommend.data_source), llm)

    async def start() -> None:
        await models.refresh()
        models.start(config.recommend.reload_seconds)

    async def stop() -> None:
        await models.stop()
        await llm.close()

    return ServiceSpec(
        name="ranker",
        service_names=[ranker_pb2.DESCRIPTOR.services_by_name["RankerService"].full_name],
        register=lambda server: ranker_pb2_grpc.add_RankerServiceServicer_to_server(servicer, server),
        on_start=[start],
        on_stop=[stop],
    )
