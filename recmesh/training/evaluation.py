"""Offline ranking quality: precision@k, recall@k and NDCG@k over held-out positive feedback."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankingQuality:
    precision: float
    recall: float
    ndcg: float
    # Users the averages are taken over.
    users: int


def precision_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Hits in the first k, divided by k (a list shorter than k counts its missing places as misses)."""
    return sum(1 for item in ranked[:k] if item in relevant) / k


def recall_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    if not relevant:
        return 0.0
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str] | frozenset[str], k: int) -> float:
    """Binary-gain NDCG: the sum of 1/log2(rank + 1) over hits (rank from 1), divided by its best value."""
    if not relevant:
        return 0.0
    gain = sum(1.0 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return gain / ideal


def evaluate_ranking(
    recommend: Callable[[str, int], Sequence[str]],
    relevant_by_user: Mapping[str, set[str] | frozenset[str]],
    k: int = 10,
) -> RankingQuality:
    """Average the three measures over users with at least one relevant item.

    `recommend(user_id, k)` returns the user's ranked item ids; it must already leave out the items the
    user had in training.
    """
    users = [user for user, relevant in relevant_by_user.items() if relevant]
    if not users:
        return RankingQuality(precision=0.0, recall=0.0, ndcg=0.0, users=0)

    precision = recall = ndcg = 0.0
    for user in users:
        ranked = list(recommend(user, k))
        relevant = relevant_by_user[user]
        precision += precision_at_k(ranked, relevant, k)
        recall += recall_at_k(ranked, relevant, k)
        ndcg += ndcg_at_k(ranked, relevant, k)
    return RankingQuality(
        precision=precision / len(users),
        recall=recall / len(users),
        ndcg=ndcg / len(users),
        users=len(users),
    )
