"""The bounds of a switch ranker's branches: which users a branch applies to, and what makes a list invalid.

A branch applies when min_count <= count < max_count, where count is the user's number of positive
feedbacks or of all feedbacks, and max_count 0 means no upper bound. A branch with neither bound is
the default. The first branch that applies wins.

Every bounded branch of one switch must count the same thing. Mixed counts would let one user match
two branches (3 positive feedbacks among 40 matches both `positive < 5` and `all >= 20`), which no
check can rule out, so the order of the branches would decide silently. With one count, validation
guarantees that bounded branches never overlap and that every count has a branch, so each user has
exactly one branch whatever the order.

This module has no protobuf or configuration dependency, so the flow validation and the
configuration file share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

POSITIVE = "positive"
ALL = "all"
COUNT_KINDS = (POSITIVE, ALL)
# Condition text of the default branch, and its label in the branch metric.
DEFAULT_LABEL = "default"


@dataclass(frozen=True, slots=True)
class BranchBounds:
    # "positive" or "all"; empty on a default branch, which counts nothing.
    count: str
    min_count: int = 0
    # Exclusive; 0 means no upper bound.
    max_count: int = 0

    @property
    def is_default(self) -> bool:
        return self.min_count == 0 and self.max_count == 0

    @property
    def upper(self) -> float:
        return float("inf") if self.max_count == 0 else float(self.max_count)

    def applies(self, positive_count: int, all_count: int) -> bool:
        """Return whether the branch applies to a user with these counts.

        A bounded branch whose count is neither positive nor all applies to no user, and validation
        rejects such a branch.
        """
        if self.is_default:
            return True
        if self.count == POSITIVE:
            count = positive_count
        elif self.count == ALL:
            count = all_count
        else:
            return False
        return self.min_count <= count < self.upper

    def describe(self) -> str:
        """Return the condition as text, such as `positive < 20`, `5 <= all < 20` or `default`."""
        if self.is_default:
            return DEFAULT_LABEL
        if self.max_count == 0:
            return f"{self.count} >= {self.min_count}"
        if self.min_count == 0:
            return f"{self.count} < {self.max_count}"
        return f"{self.min_count} <= {self.count} < {self.max_count}"


@dataclass(frozen=True, slots=True)
class BranchProblem:
    """One reason a list of branches is invalid.

    index is the branch at fault, or None for the list as a whole. field is appended to the
    branch's key, such as `.max_count`, and is empty when the whole branch is at fault.
    """

    index: int | None
    field: str
    message: str

    def key(self, prefix: str) -> str:
        """Return the full key of the problem, such as `ranker.branches[1].max_count` for prefix `ranker.`."""
        if self.index is None:
            return f"{prefix}branches{self.field}"
        return f"{prefix}branches[{self.index}]{self.field}"


def find_branch_problems(branches: Sequence[BranchBounds]) -> list[BranchProblem]:
    """Return every problem of the branches of one switch, in the order of the branches."""
    if not branches:
        return [BranchProblem(None, "", "a switch ranker needs at least one branch")]

    problems: list[BranchProblem] = []
    default_index: int | None = None
    for index, branch in enumerate(branches):
        if default_index is not None:
            problems.append(
                BranchProblem(
                    index,
                    "",
                    f"can never apply: the default branch branches[{default_index}] comes before it",
                )
            )
        if branch.is_default:
            default_index = index if default_index is None else default_index
        else:
            problems.extend(_bound_problems(index, branch))

    bounded = [(i, b) for i, b in enumerate(branches) if not b.is_default and _has_valid_bounds(b)]
    problems.extend(_mixed_count_problems(bounded))
    problems.extend(_overlap_problems(bounded))
    if default_index is None and bounded and not problems:
        problems.extend(_gap_problems(bounded))
    return problems


def _has_valid_bounds(branch: BranchBounds) -> bool:
    return (
        branch.count in COUNT_KINDS
        and branch.min_count >= 0
        and branch.max_count >= 0
        and (branch.max_count == 0 or branch.max_count > branch.min_count)
    )


def _bound_problems(index: int, branch: BranchBounds) -> list[BranchProblem]:
    problems = []
    if branch.count not in COUNT_KINDS:
        problems.append(BranchProblem(index, ".count", "must be positive or all when the branch has bounds"))
    if branch.min_count < 0:
        problems.append(BranchProblem(index, ".min_count", f"must not be negative, got {branch.min_count}"))
    if branch.max_count < 0:
        problems.append(BranchProblem(index, ".max_count", f"must not be negative, got {branch.max_count}"))
    elif branch.max_count != 0 and branch.max_count <= branch.min_count:
        problems.append(
            BranchProblem(
                index,
                ".max_count",
                f"must be greater than min_count ({branch.min_count}), got {branch.max_count}: "
                "the branch can never apply",
            )
        )
    return problems


def _mixed_count_problems(bounded: list[tuple[int, BranchBounds]]) -> list[BranchProblem]:
    if not bounded:
        return []
    first_index, first = bounded[0]
    return [
        BranchProblem(
            index,
            ".count",
            f"counts {branch.count} feedbacks but branches[{first_index}] counts {first.count} feedbacks: "
            "every bounded branch of a switch must count the same, so that no user matches two branches",
        )
        for index, branch in bounded[1:]
        if branch.count != first.count
    ]


def _overlap_problems(bounded: list[tuple[int, BranchBounds]]) -> list[BranchProblem]:
    problems = []
    for position, (i, first) in enumerate(bounded):
        for j, second in bounded[position + 1 :]:
            if first.count != second.count:
                continue
            low = max(first.min_count, second.min_count)
            high = min(first.upper, second.upper)
            if low < high:
                span = f"from {low}" if high == float("inf") else f"from {low} to {int(high) - 1}"
                problems.append(BranchProblem(j, "", f"overlaps branches[{i}]: both apply to counts {span}"))
    return problems


def _gap_problems(bounded: list[tuple[int, BranchBounds]]) -> list[BranchProblem]:
    """Return a problem naming the first counts no branch applies to, for a switch without a default branch."""
    count = bounded[0][1].count
    covered_to = 0.0
    for _, branch in sorted(bounded, key=lambda pair: pair[1].min_count):
        if branch.min_count > covered_to:
            break
        covered_to = max(covered_to, branch.upper)
    else:
        if covered_to == float("inf"):
            return []

    first_missing = int(covered_to)
    following = [b.min_count for _, b in bounded if b.min_count > first_missing]
    span = f"from {first_missing}" if not following else f"from {first_missing} to {min(following) - 1}"
    return [
        BranchProblem(
            None,
            "",
            f"no branch applies to users whose {count} feedback count is {span}: "
            "add a default branch (no min_count or max_count) or extend a branch to cover them",
        )
    ]
