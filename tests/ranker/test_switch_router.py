from __future__ import annotations

import pytest

from recmesh.entities import Feedback
from recmesh.user_context import FeedbackTypes, build_user_context
from recmesh.v1 import flow_pb2
from services.ranker.switch_router import HistoryCounts, choose_branch, counted_kind

POSITIVE = flow_pb2.HISTORY_COUNT_POSITIVE
ALL = flow_pb2.HISTORY_COUNT_ALL
LLM = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_LLM)
FM = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)
NONE = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE)

# positive < 5 → llm, 5 <= positive < 20 → none, then the default branch → fm.
BRANCHES = [
    flow_pb2.SwitchBranch(count=POSITIVE, max_count=5, ranker=LLM),
    flow_pb2.SwitchBranch(count=POSITIVE, min_count=5, max_count=20, ranker=NONE),
    flow_pb2.SwitchBranch(ranker=FM),
]


def positive(count: int) -> HistoryCounts:
    return HistoryCounts(positive=count, all=count)


@pytest.mark.parametrize(
    ("count", "index"),
    [(0, 0), (4, 0), (5, 1), (19, 1), (20, 2), (10_000, 2)],
)
def test_branch_taken_at_boundaries(count: int, index: int) -> None:
    choice = choose_branch(BRANCHES, positive(count))

    assert choice is not None
    assert choice.index == index
    assert choice.ranker == BRANCHES[index].ranker


def test_labels_name_index_and_condition() -> None:
    labels = [choose_branch(BRANCHES, positive(count)) for count in (0, 5, 20)]

    assert [c.label for c in labels if c] == [
        "branches[0] (positive < 5)",
        "branches[1] (5 <= positive < 20)",
        "branches[2] (default)",
    ]
    assert [c.metric_label for c in labels if c] == ["0", "1", "default"]


def test_open_upper_bound() -> None:
    branches = [
        flow_pb2.SwitchBranch(count=ALL, max_count=3, ranker=LLM),
        flow_pb2.SwitchBranch(count=ALL, min_count=3, ranker=FM),
    ]

    choice = choose_branch(branches, HistoryCounts(positive=0, all=2**31))

    assert choice is not None
    assert choice.index == 1
    assert choice.label == "branches[1] (all >= 3)"


def test_all_count_ignores_positive_count() -> None:
    branches = [
        flow_pb2.SwitchBranch(count=ALL, max_count=3, ranker=LLM),
        flow_pb2.SwitchBranch(ranker=FM),
    ]

    few = choose_branch(branches, HistoryCounts(positive=0, all=2))
    many = choose_branch(branches, HistoryCounts(positive=0, all=3))

    assert few is not None and few.index == 0
    assert many is not None and many.index == 1


def test_first_applying_branch_wins() -> None:
    branches = [flow_pb2.SwitchBranch(ranker=NONE), flow_pb2.SwitchBranch(ranker=FM)]

    choice = choose_branch(branches, positive(3))

    assert choice is not None
    assert choice.index == 0


def test_no_branch_applies() -> None:
    branches = [flow_pb2.SwitchBranch(count=POSITIVE, max_count=5, ranker=LLM)]

    assert choose_branch(branches, positive(5)) is None


def test_no_branches() -> None:
    assert choose_branch([], positive(0)) is None


def test_counts_from_user_context() -> None:
    feedback = [
        Feedback("like", "u", "a", 40),
        Feedback("read", "u", "a", 30),
        Feedback("like", "u", "b", 20),
        Feedback("dislike", "u", "c", 10),
        Feedback("like", "u", "old", 1),
    ]
    types = FeedbackTypes(positive=("like",), positive_ttl_seconds=50)
    context = build_user_context("u", feedback, types, now=60)

    counts = HistoryCounts.of(context)

    # "old" is outside the positive TTL, and "a" counts once.
    assert counts.positive == 2
    assert counts.all == 5
    assert counts.value("positive") == 2
    assert counts.value("all") == 5


def test_counted_kind() -> None:
    assert counted_kind(BRANCHES) == "positive"
    assert counted_kind([flow_pb2.SwitchBranch(count=ALL, min_count=1, ranker=FM)]) == "all"
    assert counted_kind([flow_pb2.SwitchBranch(ranker=FM)]) == ""
