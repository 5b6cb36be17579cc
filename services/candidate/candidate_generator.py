"""Run a flow's recommenders for one user and merge what they return."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from recmesh.metrics import LATENCY_BUCKETS
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes, UserContext, load_user_context
from services.candidate.exclusion_filter import ExclusionFilter
from services.candidate.item_cache import ItemCache
from services.candidate.merge import MergedCandidate, SourceOutput, merge_sources
from services.candidate.source import Source
from services.candidate.source_error import SourceError

log = logging.getLogger(__name__)

SOURCE_LATENCY = Histogram(
    "recmesh_source_duration_seconds",
    "Time one recommender took to return its items, by recommender type.",
    ["type"],
    buckets=LATENCY_BUCKETS,
)
SOURCE_CANDIDATES = Counter(
    "recmesh_source_candidates_total",
    "Items recommenders returned before exclusion, by recommender type.",
    ["type"],
)
SOURCE_ERRORS = Counter(
    "recmesh_source_errors_total",
    "Recommender calls that failed and were dropped from the merge, by recommender type and reason.",
    ["type", "reason"],
)


@dataclass(frozen=True, slots=True)
class PlannedSource:
    source: Source
    # Items the recommender is asked for.
    candidates: int
    quota: int = 0


@dataclass(frozen=True, slots=True)
class SourceReport:
    name: str
    type: str
    returned: int
    contributed: int
    seconds: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class CandidateResult:
    candidates: list[MergedCandidate]
    reports: list[SourceReport]


@dataclass(frozen=True, slots=True)
class _Run:
    items: list[tuple[str, float]]
    seconds: float
    error: str


class CandidateGenerator:
    def __init__(self, store: Store, items: ItemCache | None = None) -> None:
        self.store = store
        self.items = items or ItemCache(store)

    async def generate(
        self,
        user_id: str,
        plan: Sequence[PlannedSource],
        n: int,
        types: FeedbackTypes,
        exclude: Sequence[str] = (),
        categories: Sequence[str] = (),
        replacement: bool = False,
    ) -> CandidateResult:
        """Run every source concurrently; a failed source is dropped, logged and counted."""
        context = await asyncio.to_thread(load_user_context, self.store, user_id, types)

        runs = await asyncio.gather(*(self._run(planned, context) for planned in plan))

        returned_ids = list(dict.fromkeys(item_id for run in runs for item_id, _ in run.items))
        items = await self.items.get_items(returned_ids)
        exclusion = ExclusionFilter(
            context,
            items,
            exclude=exclude,
            replacement=replacement,
            item_ttl_seconds=types.item_ttl_seconds,
            categories=categories,
        )
        outputs = [
            SourceOutput(planned.source.name, exclusion.apply(run.items), planned.quota)
            for planned, run in zip(plan, runs, strict=True)
        ]

        merged = merge_sources(outputs, n)

        reports = [
            SourceReport(
                name=planned.source.name,
                type=planned.source.type,
                returned=len(run.items),
                contributed=merged.contributed.get(planned.source.name, 0),
                seconds=run.seconds,
                error=run.error,
            )
            for planned, run in zip(plan, runs, strict=True)
        ]
        return CandidateResult(candidates=merged.candidates, reports=reports)

    async def _run(self, planned: PlannedSource, context: UserContext) -> _Run:
        source = planned.source
        started = time.perf_counter()
        try:
            items = await source.recommend(context, planned.candidates)
        except Exception as exc:  # a failed source is dropped from the merge, whatever the error
            seconds = time.perf_counter() - started
            reason = exc.reason if isinstance(exc, SourceError) else "error"
            SOURCE_ERRORS.labels(source.type, reason).inc()
            log.warning("recommender %s (%s) failed and was dropped: %s", source.name, source.type, exc)
            return _Run(items=[], seconds=seconds, error=f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        SOURCE_LATENCY.labels(source.type).observe(seconds)
        SOURCE_CANDIDATES.labels(source.type).inc(len(items))
        return _Run(items=items, seconds=seconds, error="")
