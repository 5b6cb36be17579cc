"""Top-k neighbour lists of items or users, computed once at training time.

Each function takes a matrix whose rows are the entities (items or users) and returns two (rows × k)
arrays: neighbour indices (int32, -1 where fewer than k neighbours exist) and similarities (float32,
0 there), best first. An entity is never its own neighbour, and only similarities above zero count.
Rows are processed in blocks so that memory stays at block × rows floats, not rows².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

SIMILARITIES = ("co_occurrence", "attributes", "embedding")
BLOCK_ROWS = 512


def co_occurrence_neighbors(incidence: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine over shared positives: rows are entities, columns what they share (items' users, users' items).

    For binary rows a and b this is |a ∩ b| / sqrt(|a| · |b|).
    """
    binary = _binary(incidence)
    counts = np.asarray(binary.sum(axis=1)).ravel()
    norms = np.sqrt(counts)
    transposed = binary.T.tocsc()

    def block_similarity(start: int, stop: int) -> np.ndarray:
        shared = (binary[start:stop] @ transposed).toarray()
        denominator = np.outer(norms[start:stop], norms)
        cosine = np.divide(shared, denominator, out=np.zeros_like(shared), where=denominator > 0)
        # Float rounding can lift the cosine of identical rows a hair above 1.
        return np.minimum(cosine, 1.0)

    return _top_k_by_block(len(counts), k, block_similarity)


def jaccard_neighbors(attributes: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard over attribute sets (items' categories, users' labels): |a ∩ b| / |a ∪ b|."""
    binary = _binary(attributes)
    sizes = np.asarray(binary.sum(axis=1)).ravel()
    transposed = binary.T.tocsc()

    def block_similarity(start: int, stop: int) -> np.ndarray:
        shared = (binary[start:stop] @ transposed).toarray()
        union = sizes[start:stop, None] + sizes[None, :] - shared
        return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)

    return _top_k_by_block(len(sizes), k, block_similarity)


def embedding_neighbors(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosine between embedding vectors; a zero vector has no neighbours."""
    norms = np.linalg.norm(vectors, axis=1)
    unit = np.divide(vectors, norms[:, None], out=np.zeros_like(vectors), where=norms[:, None] > 0)

    def block_similarity(start: int, stop: int) -> np.ndarray:
        return np.minimum(unit[start:stop] @ unit.T, 1.0)

    return _top_k_by_block(len(vectors), k, block_similarity)


def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    binary = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    binary.eliminate_zeros()
    return binary


def _top_k_by_block(
    rows: int, k: int, block_similarity: Callable[[int, int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    if k < 1:
        raise ValueError(f"neighbour count k must be at least 1, got {k}")
    indices = np.full((rows, k), -1, dtype=np.int32)
    scores = np.zeros((rows, k), dtype=np.float32)

    for start in range(0, rows, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, rows)
        similarity = block_similarity(start, stop).astype(np.float32, copy=False)
        similarity[similarity <= 0] = -np.inf
        similarity[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        kept = min(k, rows)
        if kept < rows:
            chosen = np.argpartition(-similarity, kept - 1, axis=1)[:, :kept]
        else:
            chosen = np.broadcast_to(np.arange(rows), (stop - start, rows))
        values = np.take_along_axis(similarity, chosen, axis=1)
        order = np.lexsort((chosen, -values), axis=1)
        chosen = np.take_along_axis(chosen, order, axis=1)
        values = np.take_along_axis(values, order, axis=1)

        valid = np.isfinite(values)
        indices[start:stop, :kept] = np.where(valid, chosen, -1)
        scores[start:stop, :kept] = np.where(valid, values, 0.0)
    return indices, scores
