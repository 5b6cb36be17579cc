from __future__ import annotations

import asyncio

import pytest

from recmesh.user_context import UserContext
from services.ranker.ranking import order_by_scores, rank
from services.ranker.scorer import Candidate, ScorerError

CONTEXT = UserContext(user_id="u")
CANDIDATES = [Candidate("a", 3.0), Candidate("b", 2.0), Candidate("c", 1.0)]


class FixedScorer:
    def __init__(self, name: str, scores: list[float]) -> None:
        self.name = name
        self.scores = scores

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        return self.scores


class FailingScorer:
    def __init__(self, name: str, reason: str = "http_status") -> None:
        self.name = name
        self.reason = reason

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        raise ScorerError(self.reason, "status 500 from the rerank API")


class SlowScorer:
    name = "llm"

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        await asyncio.sleep(10)
        return [0.0] * len(candidates)


def ids(outcome) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.candidate.item_id for item in outcome.items]


def test_order_by_scores_puts_nan_last_and_keeps_ties_stable() -> None:
    ranked = order_by_scores(CANDIDATES, [1.0, float("nan"), 1.0])

    assert [item.candidate.item_id for item in ranked] == ["a", "c", "b"]


def test_order_by_scores_rejects_wrong_count() -> None:
    with pytest.raises(ScorerError) as caught:
        order_by_scores(CANDIDATES, [1.0])

    assert caught.value.reason == "bad_reply"


async def test_rank_orders_by_primary_scores() -> None:
    outcome = await rank(CONTEXT, CANDIDATES, FixedScorer("fm", [0.1, 0.9, 0.5]))

    assert ids(outcome) == ["b", "c", "a"]
    assert outcome.ranker_used == "fm"
    assert outcome.fallback_reason == ""


async def test_failed_primary_hands_over_to_fallback() -> None:
    outcome = await rank(CONTEXT, CANDIDATES, FailingScorer("llm"), FixedScorer("fm", [0.1, 0.9, 0.5]))

    assert ids(outcome) == ["b", "c", "a"]
    assert outcome.ranker_used == "fm"
    assert outcome.fallback_reason == "http_status"
    assert "500" in outcome.fallback_detail


async def test_failed_fallback_ends_in_merged_order() -> None:
    outcome = await rank(CONTEXT, CANDIDATES, FailingScorer("llm"), FailingScorer("fm", "unavailable"))

    assert ids(outcome) == ["a", "b", "c"]
    assert outcome.ranker_used == "none"
    assert outcome.fallback_reason == "http_status"


async def test_slow_primary_times_out_into_fallback() -> None:
    outcome = await rank(CONTEXT, CANDIDATES, SlowScorer(), FixedScorer("fm", [0.1, 0.9, 0.5]), timeout=0.05)

    assert outcome.ranker_used == "fm"
    assert outcome.fallback_reason == "timeout"
