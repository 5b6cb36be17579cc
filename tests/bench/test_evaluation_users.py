from __future__ import annotations

from recmesh.bench.evaluation_users import SkipReason, select_users
from recmesh.bench.groups import parse_groups
from recmesh.entities import Feedback
from recmesh.user_context import FeedbackTypes

TYPES = FeedbackTypes(positive=("like",), read=("read",), negative=("dislike",))
GROUPS = parse_groups("1-3,4-")


def row(user: str, item: str, kind: str, timestamp: int) -> Feedback:
    return Feedback(type=kind, user_id=user, item_id=item, timestamp=timestamp)


def test_eligible_user_labels_and_counts():
    train = [row("u", "a", "like", 1), row("u", "b", "read", 2)]
    test = [row("u", "c", "like", 3), row("u", "d", "read", 4), row("u", "e", "dislike", 5)]
    selected = select_users(train, test, TYPES, GROUPS, seed=1)
    assert len(selected.users) == 1
    user = selected.users[0]
    assert user.train_count == 2
    assert user.group.label == "1-3"
    assert sorted(user.item_ids) == ["c", "d", "e"]
    assert dict(zip(user.item_ids, user.labels, strict=True)) == {"c": True, "d": False, "e": False}
    assert user.test_count == 3


def test_training_feedback_newest_first():
    train = [row("u", "b", "like", 5), row("u", "a", "like", 9), row("u", "c", "read", 1)]
    test = [row("u", "x", "like", 10), row("u", "y", "read", 11)]
    user = select_users(train, test, TYPES, GROUPS, seed=1).users[0]
    assert [f.item_id for f in user.train_feedback] == ["a", "b", "c"]


def test_positive_wins_over_read_on_same_item():
    train = [row("u", "a", "like", 1)]
    test = [row("u", "x", "read", 2), row("u", "x", "like", 3), row("u", "y", "read", 4)]
    user = select_users(train, test, TYPES, GROUPS, seed=1).users[0]
    assert dict(zip(user.item_ids, user.labels, strict=True)) == {"x": True, "y": False}


def test_unknown_feedback_types_ignored():
    train = [row("u", "a", "like", 1)]
    test = [row("u", "x", "like", 2), row("u", "y", "share", 3), row("u", "z", "read", 4)]
    user = select_users(train, test, TYPES, GROUPS, seed=1).users[0]
    assert sorted(user.item_ids) == ["x", "z"]


def test_skipped_users_counted_by_reason():
    train = [
        row("single", "a", "like", 1),
        row("no-pos-test", "a", "like", 1),
        row("no-neg-test", "a", "like", 1),
        row("no-pos-train", "a", "read", 1),
        *(row("outside", f"t{i}", "like", i) for i in range(3)),
        row("ok", "a", "like", 1),
    ]
    test = [
        row("no-pos-test", "b", "read", 2),
        row("no-neg-test", "b", "like", 2),
        row("no-pos-train", "b", "like", 2),
        row("no-pos-train", "c", "read", 3),
        row("outside", "b", "like", 5),
        row("outside", "c", "read", 6),
        row("ok", "b", "like", 2),
        row("ok", "c", "read", 3),
    ]
    selected = select_users(train, test, TYPES, parse_groups("1-2"), seed=1)
    assert [user.user_id for user in selected.users] == ["ok"]
    assert selected.skipped == {
        SkipReason.NO_TEST_FEEDBACK: 1,
        SkipReason.NO_POSITIVE_IN_TEST: 1,
        SkipReason.NO_NEGATIVE_IN_TEST: 1,
        SkipReason.NO_POSITIVE_IN_TRAINING: 1,
        SkipReason.OUTSIDE_GROUPS: 1,
    }


def many_items_user(user: str) -> tuple[list[Feedback], list[Feedback]]:
    train = [row(user, "a", "like", 1)]
    test = [row(user, f"i{k}", "like" if k % 2 else "read", 10 + k) for k in range(12)]
    return train, test


def test_shuffle_fixed_by_seed_and_user():
    train, test = many_items_user("u")
    first = select_users(train, test, TYPES, GROUPS, seed=3).users[0]
    again = select_users(train, test, TYPES, GROUPS, seed=3).users[0]
    other_seed = select_users(train, test, TYPES, GROUPS, seed=4).users[0]
    assert first.item_ids == again.item_ids
    assert first.item_ids != other_seed.item_ids
    assert first.item_ids != tuple(sorted(first.item_ids))


def test_shuffle_independent_of_other_users():
    train, test = many_items_user("u")
    other_train, other_test = many_items_user("v")
    alone = select_users(train, test, TYPES, GROUPS, seed=3).users[0]
    together = select_users(train + other_train, test + other_test, TYPES, GROUPS, seed=3).users
    assert together[0].user_id == "u"
    assert together[0].item_ids == alone.item_ids


def test_sample_draws_fixed_users():
    train: list[Feedback] = []
    test: list[Feedback] = []
    for number in range(10):
        user_train, user_test = many_items_user(f"u{number}")
        train += user_train
        test += user_test
    first = select_users(train, test, TYPES, GROUPS, seed=5, sample_size=4)
    again = select_users(train, test, TYPES, GROUPS, seed=5, sample_size=4)
    assert len(first.users) == 4
    assert [u.user_id for u in first.users] == [u.user_id for u in again.users]
    assert first.skipped[SkipReason.NOT_SAMPLED] == 6


def test_sample_larger_than_eligible_takes_all():
    train, test = many_items_user("u")
    selected = select_users(train, test, TYPES, GROUPS, seed=5, sample_size=10)
    assert len(selected.users) == 1
    assert SkipReason.NOT_SAMPLED not in selected.skipped
