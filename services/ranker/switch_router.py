"""Branch selection of a switch ranker: the first branch whose bounds hold the user's history count.

The rules of a branch's bounds live in recmesh.flow.switch_branches; this module applies them to
one user and returns the ranker of the branch taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recmesh.flow.node_checks import branch_bounds
from recmesh.flow.switch_branches import ALL, DEFAULT_LABEL
from recmesh.user_context import UserContext
from recmesh.v1 import flow_pb2


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    """The two numbers a switch branch can count for a user."""

    # Items with positive feedback inside the data source's positive TTL, each once.
    positive: int
    # Feedback rows of any type, with no TTL applied.
    all: int

    @classmethod
    def of(cls, context: UserContext) -> HistoryCounts:
        """Count the user's history as the ranker reads it: the positive items the LLM query and FM model use."""
        return cls(positive=len(context.positive_items), all=len(context.feedback))

    def value(self, kind: str) -> int:
        """Return the count of the kind, `positive` or `all`."""
        return self.all if kind == ALL else self.positive


@dataclass(frozen=True, slots=True)
class BranchChoice:
    """The branch a switch takes for one user."""

    index: int
    # The branch's condition as text, such as `positive < 20` or `default`.
    condition: str
    ranker: flow_pb2.RankerConfig

    @property
    def label(self) -> str:
        """Return the name a reply gives the branch, such as `branches[0] (positive < 20)`."""
        return f"branches[{self.index}] ({self.condition})"

    @property
    def metric_label(self) -> str:
        """Return the branch's label in metrics: its index, or `default`, so the label set stays small."""
        return DEFAULT_LABEL if self.condition == DEFAULT_LABEL else str(self.index)


def choose_branch(branches: Sequence[flow_pb2.SwitchBranch], counts: HistoryCounts) -> BranchChoice | None:
    """Return the first branch that applies to a user with these counts, or None when none applies.

    Validation rejects a switch that leaves some counts without a branch, so None means the
    ranker config was not validated.
    """
    for index, branch in enumerate(branches):
        bounds = branch_bounds(branch)
        if bounds.applies(counts.positive, counts.all):
            return BranchChoice(index=index, condition=bounds.describe(), ranker=branch.ranker)
    return None


def counted_kind(branches: Sequence[flow_pb2.SwitchBranch]) -> str:
    """Return what the bounded branches count, `positive` or `all`; empty when every branch is a default.

    Validation makes every bounded branch count the same, so the first one speaks for all.
    """
    for branch in branches:
        bounds = branch_bounds(branch)
        if not bounds.is_default:
            return bounds.count
    return ""
