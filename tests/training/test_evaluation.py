from __future__ import annotations

import math

import pytest

from recmesh.training.evaluation import evaluate_ranking, ndcg_at_k, precision_at_k, recall_at_k


def test_precision_counts_hits_over_k():
    assert precision_at_k(["a", "b", "c", "d"], {"b", "d", "z"}, 4) == 0.5


def test_precision_short_list_counts_misses():
    assert precision_at_k(["a"], {"a"}, 10) == 0.1


def test_recall_divides_by_relevant_count():
    assert recall_at_k(["a", "b", "c"], {"b", "x", "y", "z"}, 3) == 0.25


def test_recall_ignores_hits_past_k():
    assert recall_at_k(["a", "b", "c"], {"c"}, 2) == 0.0


def test_ndcg_hand_computed():
    # Hits at ranks 1 and 3 of 3 relevant items: DCG = 1 + 1/log2(4), IDCG = 1 + 1/log2(3) + 1/log2(4).
    expected = (1 + 0.5) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(["a", "b", "c"], {"a", "c", "z"}, 3) == pytest.approx(expected)


def test_ndcg_perfect_ranking_is_one():
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 3) == pytest.approx(1.0)


def test_evaluate_ranking_averages_over_users():
    lists = {"u1": ["a", "b"], "u2": ["c", "d"]}
    relevant = {"u1": {"a"}, "u2": {"x"}, "u3": set()}
    quality = evaluate_ranking(lambda user, k: lists[user], relevant, k=2)
    assert quality.users == 2
    assert quality.precision == pytest.approx((0.5 + 0.0) / 2)
    assert quality.recall == pytest.approx((1.0 + 0.0) / 2)
    assert quality.ndcg == pytest.approx((1.0 + 0.0) / 2)


def test_evaluate_ranking_without_users_is_zero():
    quality = evaluate_ranking(lambda user, k: [], {}, k=10)
    assert quality.users == 0
    assert quality.ndcg == 0.0
