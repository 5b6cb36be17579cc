"""The per-user time split that offline evaluation (and the LLM ranker benchmark) trains and tests on."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from recmesh.entities import Feedback


def split_by_time(
    feedback: Iterable[Feedback], test_fraction: float = 0.2
) -> tuple[list[Feedback], list[Feedback]]:
    """Hold out the newest test_fraction of each user's feedback; return (train, test).

    A user's held-out count is test_fraction of their feedback rounded to the nearest whole number, then
    clamped so that a user with two or more feedback rows keeps at least one on each side. A user with a
    single row keeps it in training. Rows with equal timestamps are ordered by item id, then type, so the
    split is deterministic. Both lists keep the input's order.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    feedback = list(feedback)

    by_user: dict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(feedback):
        by_user[row.user_id].append(position)

    held_out: set[int] = set()
    for positions in by_user.values():
        count = len(positions)
        if count < 2:
            continue
        test_count = min(max(math.floor(count * test_fraction + 0.5), 1), count - 1)
        newest_first = sorted(
            positions,
            key=lambda p: (feedback[p].timestamp, feedback[p].item_id, feedback[p].type),
            reverse=True,
        )
        held_out.update(newest_first[:test_count])

    train = [row for position, row in enumerate(feedback) if position not in held_out]
    test = [row for position, row in enumerate(feedback) if position in held_out]
    return train, test
