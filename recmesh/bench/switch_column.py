"""The switch ranker's column: each user's AUC is that of the ranker the switch's branch picks for them.

The column makes no rerank call. It reuses the FM and reranker columns' AUCs, routed by the user's
history counts in the training part, so an earlier run's users.csv is enough to derive it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.bench.fm_column import FmColumn
from recmesh.bench.reranker_column import RerankerColumn
from recmesh.bench.user_results import UserResult
from recmesh.user_context import FeedbackTypes, build_user_context
from recmesh.v1 import flow_pb2
from services.ranker.switch_router import HistoryCounts, choose_branch

SWITCH_COLUMN = "switch"
# A ranker of type none keeps the merged order, which carries no label: every pair counts as a tie.
NEUTRAL_AUC = 0.5

_COLUMN_OF_RANKER = {
    flow_pb2.RANKER_TYPE_FM: FmColumn.name,
    flow_pb2.RANKER_TYPE_LLM: RerankerColumn.name,
}


def training_counts(user: EvaluationUser, types: FeedbackTypes, now: float) -> HistoryCounts:
    """Count the user's training history as the ranker service would at time now, the newest training time."""
    return HistoryCounts.of(build_user_context(user.user_id, user.train_feedback, types, now))


def switch_auc(
    branches: Sequence[flow_pb2.SwitchBranch], counts: HistoryCounts, aucs: Mapping[str, float | None]
) -> float | None:
    """Return the AUC of the branch the switch takes for a user with these counts.

    None when the branch's column failed on the user, or no branch applies: a failed rerank call is a
    failure of the switch too, as in the reranker's own column, even where serving would fall back.
    """
    choice = choose_branch(branches, counts)
    if choice is None:
        return None
    if choice.ranker.type == flow_pb2.RANKER_TYPE_NONE:
        return NEUTRAL_AUC
    column = _COLUMN_OF_RANKER.get(choice.ranker.type)
    if column is None:
        return None
    return aucs.get(column)


def with_switch(
    result: UserResult, branches: Sequence[flow_pb2.SwitchBranch], counts: HistoryCounts
) -> UserResult:
    """Return the result with the switch column's AUC set, and its failure when the routed column failed."""
    auc = switch_auc(branches, counts, result.aucs)
    failures = {name: reason for name, reason in result.failures.items() if name != SWITCH_COLUMN}
    if auc is None:
        choice = choose_branch(branches, counts)
        routed = _COLUMN_OF_RANKER.get(choice.ranker.type, "") if choice is not None else ""
        failures[SWITCH_COLUMN] = result.failures.get(routed, "no_branch")
    return dataclasses.replace(result, aucs={**result.aucs, SWITCH_COLUMN: auc}, failures=failures)
