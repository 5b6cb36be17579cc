"""Evaluating users concurrently: every column scores each user's test items and gets an AUC."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from recmesh.bench.auc import user_auc
from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.bench.ranker_column import ColumnFailure, RankerColumn
from recmesh.bench.user_results import UserResult

log = logging.getLogger(__name__)


async def evaluate_user(user: EvaluationUser, columns: Sequence[RankerColumn]) -> UserResult:
    """Score the user with every column. A failed column is recorded for the user; the others still count.

    Failures are logged at DEBUG only, because the report counts them by reason.
    """
    aucs: dict[str, float | None] = {}
    failures: dict[str, str] = {}
    for column in columns:
        try:
            scores = await column.score(user)
        except ColumnFailure as exc:
            log.debug("%s failed for user %s: %s", column.name, user.user_id, exc)
            aucs[column.name] = None
            failures[column.name] = exc.reason
            continue
        aucs[column.name] = user_auc(scores, user.labels)
    return UserResult(
        user_id=user.user_id,
        group=user.group.label,
        train_count=user.train_count,
        test_count=user.test_count,
        aucs=aucs,
        failures=failures,
    )


async def evaluate_users(
    users: Sequence[EvaluationUser],
    columns: Sequence[RankerColumn],
    concurrency: int,
    on_result: Callable[[UserResult], None],
) -> list[UserResult]:
    """Evaluate the users with at most `concurrency` in flight; call on_result as each finishes.

    Return the results in the order of users.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    slots = asyncio.Semaphore(concurrency)

    async def evaluate(user: EvaluationUser) -> UserResult:
        async with slots:
            result = await evaluate_user(user, columns)
        on_result(result)
        return result

    return list(await asyncio.gather(*(evaluate(user) for user in users)))
