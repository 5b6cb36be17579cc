"""The users bench-llm evaluates, their labelled test items, and the count of users skipped by reason."""

from __future__ import annotations

import enum
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from recmesh.bench.groups import HistoryGroup, find_group
from recmesh.entities import Feedback
from recmesh.user_context import FeedbackTypes


class SkipReason(enum.StrEnum):
    NO_TEST_FEEDBACK = "no test feedback (a single feedback stays in training)"
    NO_POSITIVE_IN_TEST = "no positive test feedback"
    NO_NEGATIVE_IN_TEST = "no negative test feedback"
    NO_POSITIVE_IN_TRAINING = "no positive training feedback"
    OUTSIDE_GROUPS = "training feedback count outside every group"
    NOT_SAMPLED = "eligible but not in the --users sample"


@dataclass(frozen=True, slots=True)
class EvaluationUser:
    user_id: str
    group: HistoryGroup
    # Training feedbacks of the user, all types.
    train_count: int
    # Test items in the order the rerank API receives them (shuffled), and whether each is a positive.
    item_ids: tuple[str, ...]
    labels: tuple[bool, ...]
    # The user's training feedback, newest first: what the query is rendered from.
    train_feedback: tuple[Feedback, ...]

    @property
    def test_count(self) -> int:
        return len(self.item_ids)


@dataclass(frozen=True)
class EvaluationSet:
    users: list[EvaluationUser]
    skipped: Counter[SkipReason] = field(default_factory=Counter)


def select_users(
    train: Iterable[Feedback],
    test: Iterable[Feedback],
    types: FeedbackTypes,
    groups: Sequence[HistoryGroup],
    seed: int,
    sample_size: int | None = None,
) -> EvaluationSet:
    """Return the users with a positive and a negative test item and a positive training feedback.

    A test item is positive when any of the user's test feedback on it has a positive type. It is negative
    when it has only read or negative types, and other types are ignored. Each user's items are shuffled
    with a generator seeded by (seed, user id). So their order carries no label, and a user's order does
    not depend on which other users a run includes. With sample_size, that many eligible users are drawn
    with the seed, and the rest are counted as NOT_SAMPLED.
    """
    train_by_user = _by_user(train)
    test_by_user = _by_user(test)
    positive_types = set(types.positive)
    negative_types = set(types.read) | set(types.negative)
    skipped: Counter[SkipReason] = Counter()
    users: list[EvaluationUser] = []

    for user_id in sorted(train_by_user.keys() | test_by_user.keys()):
        user_train = train_by_user.get(user_id, [])
        user_test = test_by_user.get(user_id, [])
        labels = _test_labels(user_test, positive_types, negative_types)
        group = find_group(len(user_train), groups)

        reason = None
        if not user_test:
            reason = SkipReason.NO_TEST_FEEDBACK
        elif not any(labels.values()):
            reason = SkipReason.NO_POSITIVE_IN_TEST
        elif all(labels.values()):
            reason = SkipReason.NO_NEGATIVE_IN_TEST
        elif not any(row.type in positive_types for row in user_train):
            reason = SkipReason.NO_POSITIVE_IN_TRAINING
        elif group is None:
            reason = SkipReason.OUTSIDE_GROUPS
        if reason is not None:
            skipped[reason] += 1
            continue

        assert group is not None
        item_ids = sorted(labels)
        random.Random(f"{seed}:{user_id}").shuffle(item_ids)
        users.append(
            EvaluationUser(
                user_id=user_id,
                group=group,
                train_count=len(user_train),
                item_ids=tuple(item_ids),
                labels=tuple(labels[item_id] for item_id in item_ids),
                train_feedback=tuple(sorted(user_train, key=_time_order, reverse=True)),
            )
        )

    if sample_size is not None and sample_size < len(users):
        chosen = set(random.Random(seed).sample(range(len(users)), sample_size))
        skipped[SkipReason.NOT_SAMPLED] += len(users) - sample_size
        users = [user for position, user in enumerate(users) if position in chosen]
    return EvaluationSet(users=users, skipped=skipped)


def _by_user(feedback: Iterable[Feedback]) -> dict[str, list[Feedback]]:
    rows: dict[str, list[Feedback]] = defaultdict(list)
    for row in feedback:
        rows[row.user_id].append(row)
    return rows


def _test_labels(
    feedback: Sequence[Feedback], positive_types: set[str], negative_types: set[str]
) -> dict[str, bool]:
    """Map each labelled test item to True (positive) or False (negative)."""
    labels: dict[str, bool] = {}
    for row in feedback:
        if row.type in positive_types:
            labels[row.item_id] = True
        elif row.type in negative_types:
            labels.setdefault(row.item_id, False)
    return labels


def _time_order(row: Feedback) -> tuple[int, str, str]:
    # The split's order, so that "newest" means the same in both.
    return (row.timestamp, row.item_id, row.type)
