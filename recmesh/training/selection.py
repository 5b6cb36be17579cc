"""Picking the best n of a score vector without sorting all of it."""

from __future__ import annotations

import numpy as np


def top_n(scores: np.ndarray, n: int, excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and values of the n largest finite scores, largest first.

    Equal scores within the result are ordered by index. No Python loop runs over the scores.
    """
    if excluded is not None and len(excluded):
        scores = scores.copy()
        scores[excluded] = -np.inf
    available = int(np.isfinite(scores).sum())
    n = min(n, available)
    if n <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=scores.dtype)

    if n < len(scores):
        chosen = np.argpartition(-scores, n - 1)[:n]
    else:
        chosen = np.arange(len(scores))
    chosen = chosen[np.isfinite(scores[chosen])]
    order = np.lexsort((chosen, -scores[chosen]))
    chosen = chosen[order]
    return chosen, scores[chosen]
