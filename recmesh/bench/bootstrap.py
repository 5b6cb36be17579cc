"""Bootstrap intervals over users for a ranker's GAUC and for the GAUC difference of two rankers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


def gauc_interval(
    aucs: Sequence[float],
    weights: Sequence[float],
    seed: int,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """Return the percentile interval of one ranker's GAUC over users drawn with replacement.

    None when there are no users.
    """
    values = np.asarray(aucs, dtype=np.float64)
    if values.size == 0:
        return None
    return _percentile_interval(values, np.zeros_like(values), weights, seed, resamples, confidence)


def difference_interval(
    baseline: Sequence[float],
    challenger: Sequence[float],
    weights: Sequence[float],
    seed: int,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """Return the percentile interval of GAUC(challenger) − GAUC(baseline) over users drawn with replacement.

    The users are paired: position u of each sequence is the same user, so every resample draws both
    rankers' AUC of a user together. None when there are no users.
    """
    challenger_values = np.asarray(challenger, dtype=np.float64)
    baseline_values = np.asarray(baseline, dtype=np.float64)
    if challenger_values.shape != baseline_values.shape:
        raise ValueError(f"got {challenger_values.size} and {baseline_values.size} AUCs for paired users")
    if challenger_values.size == 0:
        return None
    return _percentile_interval(challenger_values, baseline_values, weights, seed, resamples, confidence)


def _percentile_interval(
    plus: np.ndarray,
    minus: np.ndarray,
    weights: Sequence[float],
    seed: int,
    resamples: int,
    confidence: float,
) -> Interval:
    """Bootstrap Σ w·(plus − minus) / Σ w: one row of user indices per resample, all rows at once."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    sizes = np.asarray(weights, dtype=np.float64)
    if sizes.shape != plus.shape:
        raise ValueError(f"got {sizes.size} weights for {plus.size} users")

    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, plus.size, size=(resamples, plus.size))
    drawn_weights = sizes[drawn]
    totals = drawn_weights.sum(axis=1)
    # A resample can only total 0 when every drawn user has weight 0; such a draw carries no estimate.
    valid = totals > 0
    estimates = (drawn_weights * (plus - minus)[drawn]).sum(axis=1)[valid] / totals[valid]

    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return Interval(float(low), float(high))
