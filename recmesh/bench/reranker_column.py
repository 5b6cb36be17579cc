"""The LLM reranker's column: each user's query and documents sent through the ranker service's client."""

from __future__ import annotations

import time

from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.bench.prompts import PromptRenderer
from recmesh.bench.ranker_column import ColumnFailure
from recmesh.bench.reranker_stats import RerankerStats
from recmesh.templates import TemplateRenderError
from services.ranker.llm_scorer import LlmRankerSettings, scores_from_result
from services.ranker.reranker_client import RerankCall, RerankerClient
from services.ranker.scorer import ScorerError


class RerankerColumn:
    name = "reranker"

    def __init__(
        self,
        settings: LlmRankerSettings,
        client: RerankerClient,
        renderer: PromptRenderer,
        timeout_seconds: float,
        stats: RerankerStats,
    ) -> None:
        self._client = client
        self._renderer = renderer
        self._timeout_seconds = timeout_seconds
        self._max_documents = settings.max_documents
        self.stats = stats
        self._call = RerankCall(
            url=settings.url,
            model=settings.model,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            max_documents=settings.max_documents,
        )

    async def score(self, user: EvaluationUser) -> list[float]:
        try:
            query, documents = self._renderer.render(user)
        except TemplateRenderError as exc:
            raise ColumnFailure("template_error", str(exc)) from exc

        started = time.perf_counter()
        # The client's deadline is on time.monotonic; its retries stop when the deadline draws near.
        deadline = time.monotonic() + self._timeout_seconds
        try:
            result = await self._client.rerank(self._call, query, documents, deadline)
        except ScorerError as exc:
            seconds = time.perf_counter() - started
            self.stats.record_failure(exc.reason, len(documents), self._max_documents, seconds)
            raise ColumnFailure(exc.reason, str(exc)) from exc

        seconds = time.perf_counter() - started
        self.stats.record_success(len(documents), self._max_documents, result.total_tokens, seconds)
        return scores_from_result(result)
