from __future__ import annotations

import pytest

from recmesh.bench.auc import user_auc
from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.bench.groups import HistoryGroup
from recmesh.bench.switch_column import SWITCH_COLUMN, switch_auc, training_counts, with_switch
from recmesh.bench.user_results import UserResult
from recmesh.entities import Feedback
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from services.ranker.switch_router import HistoryCounts

AUCS = {"fm": 0.8, "reranker": 0.3}


def branch(ranker: int, count: int = 0, min_count: int = 0, max_count: int = 0) -> flow_pb2.SwitchBranch:
    return flow_pb2.SwitchBranch(
        count=count, min_count=min_count, max_count=max_count, ranker=flow_pb2.RankerConfig(type=ranker)
    )


# positive < 5: none; 5 <= positive < 10: llm; the rest: fm.
POSITIVE_BRANCHES = [
    branch(flow_pb2.RANKER_TYPE_NONE, flow_pb2.HISTORY_COUNT_POSITIVE, 0, 5),
    branch(flow_pb2.RANKER_TYPE_LLM, flow_pb2.HISTORY_COUNT_POSITIVE, 5, 10),
    branch(flow_pb2.RANKER_TYPE_FM),
]


@pytest.mark.parametrize(
    ("positive", "expected"),
    [(0, 0.5), (4, 0.5), (5, 0.3), (9, 0.3), (10, 0.8), (500, 0.8)],
)
def test_switch_routes_at_boundaries(positive: int, expected: float):
    # min_count is inclusive and max_count exclusive; the all count plays no part here.
    counts = HistoryCounts(positive=positive, all=7)

    assert switch_auc(POSITIVE_BRANCHES, counts, AUCS) == expected


@pytest.mark.parametrize(("all_count", "expected"), [(19, 0.3), (20, 0.8)])
def test_switch_routes_by_all_count(all_count: int, expected: float):
    branches = [
        branch(flow_pb2.RANKER_TYPE_LLM, flow_pb2.HISTORY_COUNT_ALL, 0, 20),
        branch(flow_pb2.RANKER_TYPE_FM),
    ]
    # The positive count would pick the other branch if the switch read it.
    counts = HistoryCounts(positive=30 if all_count < 20 else 1, all=all_count)

    assert switch_auc(branches, counts, AUCS) == expected


def test_none_branch_matches_constant_score():
    labels = (True, False, False, True, False)

    assert switch_auc(POSITIVE_BRANCHES, HistoryCounts(1, 1), AUCS) == user_auc([0.0] * len(labels), labels)


def test_failed_reranker_fails_switch():
    result = UserResult("u", "1-20", 12, 4, {"fm": 0.8, "reranker": None}, {"reranker": "timeout"})

    routed = with_switch(result, POSITIVE_BRANCHES, HistoryCounts(positive=6, all=12))

    assert routed.aucs[SWITCH_COLUMN] is None
    assert routed.failures == {"reranker": "timeout", SWITCH_COLUMN: "timeout"}


def test_switch_on_fm_survives_reranker_failure():
    result = UserResult("u", "1-20", 12, 4, {"fm": 0.8, "reranker": None}, {"reranker": "timeout"})

    routed = with_switch(result, POSITIVE_BRANCHES, HistoryCounts(positive=11, all=12))

    assert routed.aucs[SWITCH_COLUMN] == 0.8
    assert SWITCH_COLUMN not in routed.failures


def test_switch_rederived_replaces_stale_value():
    result = UserResult("u", "1-20", 12, 4, {"fm": 0.8, "reranker": 0.3, SWITCH_COLUMN: 0.1})

    routed = with_switch(result, POSITIVE_BRANCHES, HistoryCounts(positive=7, all=12))

    assert routed.aucs == {"fm": 0.8, "reranker": 0.3, SWITCH_COLUMN: 0.3}
    assert routed.failures == {}


def test_training_counts_distinct_positive_items():
    # Two likes of i1 count once; a read is not positive but counts in all.
    feedback = (
        Feedback("like", "u", "i1", 30),
        Feedback("like", "u", "i1", 20),
        Feedback("read", "u", "i2", 10),
        Feedback("like", "u", "i3", 5),
    )
    user = EvaluationUser("u", HistoryGroup(1, None), len(feedback), ("t",), (True,), feedback)
    types = FeedbackTypes(positive=("like",), read=("read",), negative=())

    counts = training_counts(user, types, now=30)

    assert counts == HistoryCounts(positive=2, all=4)


def test_training_counts_apply_positive_ttl():
    feedback = (Feedback("like", "u", "i1", 100), Feedback("like", "u", "i2", 10))
    user = EvaluationUser("u", HistoryGroup(1, None), 2, ("t",), (True,), feedback)
    types = FeedbackTypes(positive=("like",), read=(), negative=(), positive_ttl_seconds=50)

    counts = training_counts(user, types, now=100)

    assert counts == HistoryCounts(positive=1, all=2)
