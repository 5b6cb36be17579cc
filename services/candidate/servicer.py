"""CandidateService: translates GetCandidates to the candidate generator and back."""

from __future__ import annotations

import grpc

from recmesh.grpc_errors import InvalidArgument, abort_on_error
from recmesh.model_store import ModelStore
from recmesh.training.candidate_models import CandidateModels
from recmesh.user_context import feedback_types_from_proto
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc, common_pb2
from services.candidate.candidate_generator import CandidateGenerator, PlannedSource
from services.candidate.source_factory import (
    DEFAULT_CANDIDATES,
    SourceCache,
    UnknownSourceType,
    source_limits,
)

MAX_CANDIDATES = 10_000
MAX_SOURCES = 64


class CandidateServicer(candidate_pb2_grpc.CandidateServiceServicer):
    def __init__(
        self,
        generator: CandidateGenerator,
        sources: SourceCache,
        models: ModelStore[CandidateModels] | None = None,
    ) -> None:
        self.generator = generator
        self.sources = sources
        self.models = models

    @abort_on_error
    async def GetCandidates(
        self, request: candidate_pb2.GetCandidatesRequest, context: grpc.aio.ServicerContext
    ) -> candidate_pb2.GetCandidatesResponse:
        if not request.user_id:
            raise InvalidArgument("user_id: must not be empty")
        if not 0 < request.n <= MAX_CANDIDATES:
            raise InvalidArgument(f"n: must be between 1 and {MAX_CANDIDATES}, got {request.n}")
        if not request.sources:
            raise InvalidArgument("sources: at least one recommender node is required")
        if len(request.sources) > MAX_SOURCES:
            raise InvalidArgument(
                f"sources: at most {MAX_SOURCES} recommender nodes, got {len(request.sources)}"
            )

        plan = []
        for node in request.sources:
            try:
                source = self.sources.get(node)
            except (UnknownSourceType, ValueError) as exc:
                raise InvalidArgument(f"sources: {exc}") from exc
            limits = source_limits(node)
            plan.append(PlannedSource(source, limits.candidates or DEFAULT_CANDIDATES, limits.quota))

        result = await self.generator.generate(
            request.user_id,
            plan,
            request.n,
            feedback_types_from_proto(request.data_source, self.sources.deps.types),
            exclude=list(request.exclude_item_ids),
            categories=list(request.categories),
            replacement=request.replacement,
        )

        return candidate_pb2.GetCandidatesResponse(
            candidates=[
                common_pb2.ScoredItem(
                    item_id=candidate.item_id,
                    score=candidate.score,
                    sources=[
                        common_pb2.SourceScore(source=name, score=score) for name, score in candidate.sources
                    ],
                )
                for candidate in result.candidates
            ],
            sources=[
                candidate_pb2.SourceReport(
                    source=report.name,
                    type=report.type,
                    returned=report.returned,
                    contributed=report.contributed,
                    seconds=report.seconds,
                    error=report.error,
                )
                for report in result.reports
            ],
            model_version=str(self.models.version) if self.models is not None and self.models.version else "",
        )
