from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recmesh.training.neighbors import co_occurrence_neighbors, embedding_neighbors, jaccard_neighbors

# Rows are items, columns users: items 0 and 1 share both their fans, item 2 shares one with each,
# item 3 has a fan of its own, item 4 has none.
FANS = sp.csr_matrix(
    np.array(
        [
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [1, 0, 1, 0],
            [0, 0, 0, 1],
            [0, 0, 0, 0],
        ]
    )
)


def test_co_occurrence_cosine_values():
    indices, scores = co_occurrence_neighbors(FANS, 3)
    assert indices[0].tolist() == [1, 2, -1]
    assert scores[0].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert indices[2].tolist() == [0, 1, -1]
    assert scores[2].tolist() == pytest.approx([0.5, 0.5, 0.0])


def test_co_occurrence_without_shared_fans_is_empty():
    indices, scores = co_occurrence_neighbors(FANS, 3)
    assert indices[3].tolist() == [-1, -1, -1]
    assert indices[4].tolist() == [-1, -1, -1]
    assert scores[4].tolist() == [0.0, 0.0, 0.0]


def test_co_occurrence_counts_each_user_once():
    weighted = FANS.multiply(5).tocsr()
    assert co_occurrence_neighbors(weighted, 2)[1].tolist() == co_occurrence_neighbors(FANS, 2)[1].tolist()


def test_jaccard_values():
    categories = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]]))
    indices, scores = jaccard_neighbors(categories, 2)
    # Item 0 {c0, c1}: item 2 {c0, c1, c2} gives 2/3, item 1 {c0} gives 1/2.
    assert indices[0].tolist() == [2, 1]
    assert scores[0].tolist() == pytest.approx([2 / 3, 1 / 2])
    assert indices[3].tolist() == [-1, -1]


def test_embedding_cosine_ignores_length():
    vectors = np.array([[1.0, 0.0], [10.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    indices, scores = embedding_neighbors(vectors, 2)
    assert indices[0].tolist() == [1, 2]
    assert scores[0].tolist() == pytest.approx([1.0, np.sqrt(0.5)])
    assert indices[3].tolist() == [-1, -1]


def test_neighbor_lists_never_contain_self():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 5)).astype(np.float32)
    indices, _ = embedding_neighbors(vectors, 10)
    for row, neighbors in enumerate(indices):
        assert row not in neighbors.tolist()


def test_blocks_match_single_pass(monkeypatch: pytest.MonkeyPatch):
    rng = np.random.default_rng(5)
    fans = sp.csr_matrix((rng.random((30, 20)) < 0.3).astype(np.float32))
    whole = co_occurrence_neighbors(fans, 5)
    monkeypatch.setattr("recmesh.training.neighbors.BLOCK_ROWS", 7)
    blocked = co_occurrence_neighbors(fans, 5)
    assert np.array_equal(whole[0], blocked[0])
    assert np.allclose(whole[1], blocked[1])


def test_k_below_one_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        co_occurrence_neighbors(FANS, 0)
