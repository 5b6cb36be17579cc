from __future__ import annotations

import pytest

from recmesh.bench.auc import group_auc
from recmesh.bench.bootstrap import difference_interval, gauc_interval


def test_interval_same_for_same_seed():
    baseline = [0.5, 0.6, 0.7, 0.8, 0.55]
    challenger = [0.6, 0.5, 0.9, 0.7, 0.65]
    weights = [4, 2, 10, 3, 5]
    first = difference_interval(baseline, challenger, weights, seed=7)
    second = difference_interval(baseline, challenger, weights, seed=7)
    assert first == second


def test_interval_changes_with_seed():
    baseline = [0.5, 0.6, 0.7, 0.8, 0.55]
    challenger = [0.6, 0.5, 0.9, 0.7, 0.65]
    weights = [4, 2, 10, 3, 5]
    assert difference_interval(baseline, challenger, weights, seed=1) != difference_interval(
        baseline, challenger, weights, seed=2
    )


def test_interval_contains_point_estimate():
    baseline = [0.5, 0.6, 0.7, 0.8, 0.55, 0.62]
    challenger = [0.7, 0.65, 0.75, 0.9, 0.6, 0.7]
    weights = [4, 2, 10, 3, 5, 6]
    point = group_auc(challenger, weights) - group_auc(baseline, weights)
    interval = difference_interval(baseline, challenger, weights, seed=3)
    assert interval is not None
    assert interval.low <= point <= interval.high
    assert interval.low < interval.high


def test_constant_difference_gives_point_interval():
    # Every user gains exactly 0.1, so every resample's difference is 0.1.
    baseline = [0.5, 0.6, 0.7]
    challenger = [0.6, 0.7, 0.8]
    interval = difference_interval(baseline, challenger, [3, 4, 5], seed=0)
    assert interval is not None
    assert interval.low == pytest.approx(0.1)
    assert interval.high == pytest.approx(0.1)


def test_gauc_interval_within_user_range():
    aucs = [0.2, 0.9, 0.5, 0.7]
    interval = gauc_interval(aucs, [2, 8, 4, 4], seed=5)
    assert interval is not None
    assert 0.2 <= interval.low <= group_auc(aucs, [2, 8, 4, 4]) <= interval.high <= 0.9


def test_no_users_gives_no_interval():
    assert difference_interval([], [], [], seed=0) is None
    assert gauc_interval([], [], seed=0) is None


def test_unpaired_lengths_rejected():
    with pytest.raises(ValueError, match="paired users"):
        difference_interval([0.5], [0.5, 0.6], [1, 1], seed=0)
