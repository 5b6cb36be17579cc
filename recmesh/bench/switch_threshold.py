"""The threshold search behind `bench-llm --suggest-switch`: which users go to the reranker, which to FM.

A threshold t sends users with fewer than t positive training feedbacks to the reranker and the rest
to FM. t = 0 sends everyone to FM, and t = None (no upper bound) sends everyone to the reranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recmesh.bench.auc import group_auc


@dataclass(frozen=True, slots=True)
class ThresholdUser:
    """One user's validation figures: the count the switch routes by, and each ranker's AUC."""

    count: int
    # Number of validation feedbacks: the user's weight in the GAUC.
    weight: int
    fm_auc: float
    reranker_auc: float


@dataclass(frozen=True, slots=True)
class ThresholdScore:
    # None means no upper bound: every user goes to the reranker.
    threshold: int | None
    gauc: float
    # Users the threshold sends to the reranker.
    reranker_users: int


@dataclass(frozen=True)
class ThresholdSearch:
    best: ThresholdScore
    always_fm: ThresholdScore
    always_reranker: ThresholdScore
    # Every threshold tried, ascending, None last.
    scores: list[ThresholdScore]
    users: int


def switch_gauc(users: Sequence[ThresholdUser], threshold: int | None) -> ThresholdScore:
    """Return the GAUC of the switch that sends users with count < threshold to the reranker."""
    to_reranker = [threshold is None or user.count < threshold for user in users]
    aucs = [
        user.reranker_auc if reranked else user.fm_auc
        for user, reranked in zip(users, to_reranker, strict=True)
    ]
    gauc = group_auc(aucs, [user.weight for user in users])
    return ThresholdScore(threshold=threshold, gauc=gauc, reranker_users=sum(to_reranker))


def search_threshold(users: Sequence[ThresholdUser]) -> ThresholdSearch:
    """Return the threshold with the highest GAUC over the users, and the two extremes.

    Only the users' distinct counts can change which users a threshold sends where, so the candidates
    are 0, each distinct count above the smallest, and None. Of thresholds with equal GAUC the lowest
    wins, because it sends the fewest users to the reranker, which costs a rerank call per request.
    Raise ValueError when there are no users.
    """
    if not users:
        raise ValueError("the threshold search needs at least one user with both AUCs")
    counts = sorted({user.count for user in users})
    candidates: list[int | None] = [0, *counts[1:], None]
    scores = [switch_gauc(users, threshold) for threshold in candidates]

    best = scores[0]
    for score in scores[1:]:
        if score.gauc > best.gauc:
            best = score
    return ThresholdSearch(
        best=best, always_fm=scores[0], always_reranker=scores[-1], scores=scores, users=len(users)
    )


def describe_threshold(threshold: int | None) -> str:
    """Return the threshold as text for the report, such as `positive < 12 to the reranker, the rest to FM`."""
    if threshold is None:
        return "no bound (every user to the reranker)"
    if threshold == 0:
        return "0 (every user to FM)"
    return f"positive < {threshold} to the reranker, the rest to FM"
