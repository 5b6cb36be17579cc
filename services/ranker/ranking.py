"""Order candidates with a ranker, handing over to its fallback when it fails.

Which failures change the order is decided here: a ScorerError or a timeout of the configured
ranker hands the candidates to its fallback ranker (fm or none), and a failed fallback hands them
to `none`, the merged order, which cannot fail. So a request never fails because a ranker did.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

from prometheus_client import Counter

from recmesh.user_context import UserContext
from services.ranker.none_scorer import NoneScorer
from services.ranker.scorer import Candidate, Scorer, ScorerError

log = logging.getLogger(__name__)

RANK_REQUESTS = Counter(
    "recmesh_rank_requests_total",
    "Rank calls by the ranker configured and how they ended (ok or fallback).",
    ["ranker", "outcome"],
)
FALLBACKS = Counter(
    "recmesh_ranker_fallbacks_total",
    "Rank calls whose configured ranker failed, by reason.",
    ["reason"],
)

# Time kept back from the deadline for the fallback ranker and the reply.
FALLBACK_RESERVE_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class RankedItem:
    candidate: Candidate
    score: float


@dataclass(frozen=True, slots=True)
class RankOutcome:
    items: list[RankedItem]
    ranker_used: str
    fallback_reason: str = ""
    fallback_detail: str = ""


def order_by_scores(candidates: list[Candidate], scores: list[float]) -> list[RankedItem]:
    """Sort by score, highest first; ties and NaN scores keep the merged order after finite ones."""
    if len(scores) != len(candidates):
        raise ScorerError(
            "bad_reply", f"the ranker returned {len(scores)} scores for {len(candidates)} candidates"
        )
    positions = range(len(candidates))

    def key(position: int) -> tuple[bool, float, int]:
        score = scores[position]
        is_finite = math.isfinite(score)
        return (not is_finite, -score if is_finite else 0.0, position)

    return [RankedItem(candidates[p], scores[p]) for p in sorted(positions, key=key)]


async def _score_within(
    scorer: Scorer, context: UserContext, candidates: list[Candidate], timeout: float | None
) -> list[RankedItem]:
    try:
        async with asyncio.timeout(timeout):
            scores = await scorer.score(context, candidates)
    except TimeoutError as exc:
        raise ScorerError("timeout", f"the {scorer.name} ranker took longer than {timeout:.3f}s") from exc
    return order_by_scores(candidates, scores)


async def rank(
    context: UserContext,
    candidates: list[Candidate],
    primary: Scorer,
    fallback: Scorer | None = None,
    timeout: float | None = None,
) -> RankOutcome:
    """Order candidates with primary within timeout seconds, else with fallback, else merged order."""
    if not candidates:
        RANK_REQUESTS.labels(primary.name, "ok").inc()
        return RankOutcome(items=[], ranker_used=primary.name)
    try:
        items = await _score_within(primary, context, candidates, timeout)
    except ScorerError as exc:
        failure = exc
    else:
        RANK_REQUESTS.labels(primary.name, "ok").inc()
        return RankOutcome(items=items, ranker_used=primary.name)

    FALLBACKS.labels(failure.reason).inc()
    RANK_REQUESTS.labels(primary.name, "fallback").inc()
    log.warning("ranker %s failed (%s): %s", primary.name, failure.reason, failure.detail)
    for substitute in (fallback, NoneScorer()):
        if substitute is None or substitute.name == primary.name:
            continue
        try:
            items = await _score_within(substitute, context, candidates, None)
        except ScorerError as exc:
            log.warning("fallback ranker %s failed too (%s): %s", substitute.name, exc.reason, exc.detail)
            continue
        return RankOutcome(
            items=items,
            ranker_used=substitute.name,
            fallback_reason=failure.reason,
            fallback_detail=failure.detail,
        )
    raise AssertionError("the none ranker cannot fail")
