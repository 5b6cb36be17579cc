"""Per-user AUC and Group AUC (GAUC), the figures bench-llm compares rankers by."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata


def user_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Return the fraction of (positive, negative) pairs that scores order correctly; a tie counts one half.

    Computed from average ranks (the Mann-Whitney U statistic), which gives tied pairs exactly one half.
    Raise ValueError unless there is at least one positive and one negative, and as many scores as labels.
    """
    if len(scores) != len(labels):
        raise ValueError(f"got {len(scores)} scores for {len(labels)} labels")
    is_positive = np.asarray(labels, dtype=bool)
    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"AUC needs a positive and a negative, got {positives} and {negatives}")

    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    correct = ranks[is_positive].sum() - positives * (positives + 1) / 2
    return float(correct / (positives * negatives))


def group_auc(aucs: Sequence[float], weights: Sequence[float]) -> float:
    """Return Σ w_u · AUC_u / Σ w_u, with w_u the user's number of test feedbacks; NaN for no users."""
    values = np.asarray(aucs, dtype=np.float64)
    sizes = np.asarray(weights, dtype=np.float64)
    if values.shape != sizes.shape:
        raise ValueError(f"got {values.size} AUCs for {sizes.size} weights")
    total = sizes.sum()
    if values.size == 0 or total == 0:
        return float("nan")
    return float((values * sizes).sum() / total)
