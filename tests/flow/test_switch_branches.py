from __future__ import annotations

import pytest

from recmesh.flow.switch_branches import BranchBounds, BranchProblem, find_branch_problems


def positive(low: int, high: int) -> BranchBounds:
    return BranchBounds("positive", low, high)


DEFAULT = BranchBounds("")


@pytest.mark.parametrize(
    ("branch", "count", "expected"),
    [
        (positive(5, 20), 4, False),
        (positive(5, 20), 5, True),
        (positive(5, 20), 19, True),
        (positive(5, 20), 20, False),
        (positive(5, 0), 1_000_000, True),
        (positive(0, 1), 0, True),
        (positive(0, 1), 1, False),
    ],
)
def test_applies_at_bounds(branch: BranchBounds, count: int, expected: bool) -> None:
    assert branch.applies(positive_count=count, all_count=0) is expected


def test_all_branch_reads_all_count() -> None:
    branch = BranchBounds("all", 0, 10)

    assert branch.applies(positive_count=50, all_count=9)
    assert not branch.applies(positive_count=0, all_count=10)


def test_default_applies_to_everyone() -> None:
    assert DEFAULT.applies(0, 0)
    assert DEFAULT.applies(10**9, 10**9)


def test_bounded_branch_without_count_never_applies() -> None:
    assert not BranchBounds("", 0, 5).applies(0, 0)


@pytest.mark.parametrize(
    ("branch", "text"),
    [
        (positive(0, 20), "positive < 20"),
        (positive(20, 0), "positive >= 20"),
        (BranchBounds("all", 5, 20), "5 <= all < 20"),
        (DEFAULT, "default"),
    ],
)
def test_describe(branch: BranchBounds, text: str) -> None:
    assert branch.describe() == text


def test_partition_without_default_is_valid() -> None:
    assert find_branch_problems([positive(0, 5), positive(5, 20), positive(20, 0)]) == []


def test_order_of_disjoint_branches_is_free() -> None:
    assert find_branch_problems([positive(20, 0), positive(0, 5), positive(5, 20)]) == []


def test_gap_between_branches_is_named() -> None:
    problems = find_branch_problems([positive(0, 20), positive(21, 0)])

    assert problems == [
        BranchProblem(
            None,
            "",
            "no branch applies to users whose positive feedback count is from 20 to 20: "
            "add a default branch (no min_count or max_count) or extend a branch to cover them",
        )
    ]


def test_open_end_without_default() -> None:
    (problem,) = find_branch_problems([positive(0, 20)])

    assert "positive feedback count is from 20:" in problem.message


def test_missing_start_without_default() -> None:
    (problem,) = find_branch_problems([positive(3, 0)])

    assert "from 0 to 2" in problem.message


def test_default_closes_every_gap() -> None:
    assert find_branch_problems([positive(0, 20), positive(30, 40), DEFAULT]) == []


def test_mixed_counts_rejected_at_second_kind() -> None:
    problems = find_branch_problems([positive(0, 5), BranchBounds("all", 20, 0), DEFAULT])

    assert [(p.index, p.field) for p in problems] == [(1, ".count")]
    assert "counts all feedbacks but branches[0] counts positive feedbacks" in problems[0].message


def test_default_branch_count_is_ignored() -> None:
    assert find_branch_problems([positive(0, 5), BranchBounds("all")]) == []


def test_overlap_with_open_end() -> None:
    problems = find_branch_problems([positive(10, 0), positive(0, 20), DEFAULT])

    assert problems == [BranchProblem(1, "", "overlaps branches[0]: both apply to counts from 10 to 19")]


def test_duplicate_default_is_unreachable() -> None:
    problems = find_branch_problems([DEFAULT, DEFAULT])

    assert [(p.index, p.field) for p in problems] == [(1, "")]
    assert "the default branch branches[0] comes before it" in problems[0].message


def test_negative_bounds() -> None:
    problems = find_branch_problems([positive(-1, 5), positive(5, -2), DEFAULT])

    assert [(p.index, p.field) for p in problems] == [(0, ".min_count"), (1, ".max_count")]


def test_no_branches() -> None:
    (problem,) = find_branch_problems([])

    assert problem.key("ranker.") == "ranker.branches"


def test_problem_key_names_branch_and_field() -> None:
    assert (
        BranchProblem(2, ".max_count", "").key("recommend.ranker.")
        == "recommend.ranker.branches[2].max_count"
    )
