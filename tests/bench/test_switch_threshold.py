from __future__ import annotations

import pytest

from recmesh.bench.switch_threshold import ThresholdUser, search_threshold, switch_gauc

# (positive count, validation feedbacks, FM AUC, reranker AUC). The reranker wins for a, b and c, FM for
# g, d, e and f. c and g share count 5: c alone would favour the reranker (+0.3 × 1), but g outweighs
# it (−0.1 × 4), so the best threshold is 5 (a and b to the reranker), not 8.
USERS = [
    ThresholdUser(count=2, weight=2, fm_auc=0.4, reranker_auc=0.9),  # a
    ThresholdUser(count=3, weight=2, fm_auc=0.5, reranker_auc=0.8),  # b
    ThresholdUser(count=5, weight=1, fm_auc=0.5, reranker_auc=0.8),  # c
    ThresholdUser(count=5, weight=4, fm_auc=0.7, reranker_auc=0.6),  # g
    ThresholdUser(count=8, weight=2, fm_auc=0.9, reranker_auc=0.6),  # d
    ThresholdUser(count=8, weight=2, fm_auc=0.8, reranker_auc=0.5),  # e
    ThresholdUser(count=13, weight=2, fm_auc=0.9, reranker_auc=0.2),  # f
]
# Σ weight · AUC by hand, over a total weight of 15.
EXPECTED = {0: 10.3, 3: 11.3, 5: 11.9, 8: 11.8, 13: 10.6, None: 9.2}


def test_search_finds_known_threshold():
    search = search_threshold(USERS)

    assert search.best.threshold == 5
    assert search.best.gauc == pytest.approx(11.9 / 15)
    assert search.best.reranker_users == 2
    assert search.users == 7


def test_search_scores_every_candidate():
    search = search_threshold(USERS)

    assert [score.threshold for score in search.scores] == list(EXPECTED)
    for score in search.scores:
        assert score.gauc == pytest.approx(EXPECTED[score.threshold] / 15), score.threshold


def test_search_reports_extremes():
    search = search_threshold(USERS)

    assert search.always_fm.threshold == 0
    assert search.always_fm.gauc == pytest.approx(10.3 / 15)
    assert search.always_fm.reranker_users == 0
    assert search.always_reranker.threshold is None
    assert search.always_reranker.gauc == pytest.approx(9.2 / 15)
    assert search.always_reranker.reranker_users == 7


def test_search_prefers_lowest_threshold_on_tie():
    # The reranker equals FM for the user with count 1, so thresholds 0 and 4 tie; 0 makes no rerank call.
    users = [
        ThresholdUser(count=1, weight=3, fm_auc=0.7, reranker_auc=0.7),
        ThresholdUser(count=4, weight=3, fm_auc=0.9, reranker_auc=0.1),
    ]

    assert search_threshold(users).best.threshold == 0


def test_search_can_choose_always_reranker():
    users = [
        ThresholdUser(count=1, weight=1, fm_auc=0.5, reranker_auc=0.6),
        ThresholdUser(count=9, weight=1, fm_auc=0.5, reranker_auc=0.7),
    ]

    search = search_threshold(users)

    assert search.best.threshold is None
    assert search.best.gauc == pytest.approx(0.65)


def test_threshold_is_exclusive():
    # count < threshold goes to the reranker, so the user with count 5 stays with FM at threshold 5.
    at_five = switch_gauc(USERS[2:4], 5)
    at_six = switch_gauc(USERS[2:4], 6)

    assert at_five.reranker_users == 0
    assert at_six.reranker_users == 2


def test_search_without_users_rejected():
    with pytest.raises(ValueError, match="at least one user"):
        search_threshold([])
