from __future__ import annotations

import math

import pytest

from recmesh.bench.auc import group_auc, user_auc


def test_auc_perfect_order():
    assert user_auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0


def test_auc_reversed_order():
    assert user_auc([0.1, 0.9], [True, False]) == 0.0


def test_auc_counts_correct_pairs():
    # Pairs (positive, negative): (0.9, 0.5) yes, (0.9, 0.1) yes, (0.2, 0.5) no, (0.2, 0.1) yes: 3 of 4.
    assert user_auc([0.9, 0.2, 0.5, 0.1], [True, True, False, False]) == 0.75


def test_auc_tie_counts_one_half():
    assert user_auc([0.4, 0.4], [True, False]) == 0.5


def test_auc_ties_mixed_with_ordered_pairs():
    # Positives 0.7 and 0.3; negatives 0.3 and 0.1. Pairs: (0.7, 0.3) 1, (0.7, 0.1) 1, (0.3, 0.3) 0.5,
    # (0.3, 0.1) 1: 3.5 of 4.
    assert user_auc([0.3, 0.7, 0.1, 0.3], [True, True, False, False]) == 0.875


def test_auc_all_scores_equal():
    assert user_auc([1.0] * 5, [True, False, True, False, False]) == 0.5


@pytest.mark.parametrize("labels", [[True, True], [False, False], []])
def test_auc_without_both_labels_rejected(labels: list[bool]):
    with pytest.raises(ValueError, match="positive and a negative"):
        user_auc([0.5] * len(labels), labels)


def test_auc_length_mismatch_rejected():
    with pytest.raises(ValueError, match="3 scores for 2 labels"):
        user_auc([0.1, 0.2, 0.3], [True, False])


def test_group_auc_weights_by_test_count():
    # (4 × 0.75 + 2 × 0.5) / 6
    assert group_auc([0.75, 0.5], [4, 2]) == pytest.approx(4 / 6)


def test_group_auc_single_user_is_its_auc():
    assert group_auc([0.3], [7]) == pytest.approx(0.3)


def test_group_auc_of_no_users_is_nan():
    assert math.isnan(group_auc([], []))


def test_group_auc_length_mismatch_rejected():
    with pytest.raises(ValueError, match="2 AUCs for 1 weights"):
        group_auc([0.5, 0.6], [3])
