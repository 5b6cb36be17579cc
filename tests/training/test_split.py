from __future__ import annotations

import pytest

from recmesh.entities import Feedback
from recmesh.training.split import split_by_time


def rows(user_id: str, count: int) -> list[Feedback]:
    return [Feedback(type="like", user_id=user_id, item_id=f"i{t}", timestamp=t) for t in range(count)]


def test_single_feedback_stays_in_training():
    train, test = split_by_time(rows("u", 1))
    assert len(train) == 1
    assert test == []


def test_two_feedback_split_one_each_side():
    train, test = split_by_time(rows("u", 2))
    assert [f.item_id for f in train] == ["i0"]
    assert [f.item_id for f in test] == ["i1"]


def test_newest_fifth_held_out():
    train, test = split_by_time(rows("u", 10))
    assert [f.item_id for f in test] == ["i8", "i9"]
    assert len(train) == 8


def test_large_fraction_keeps_one_in_training():
    train, test = split_by_time(rows("u", 3), test_fraction=0.9)
    assert [f.item_id for f in train] == ["i0"]
    assert len(test) == 2


def test_users_split_independently():
    feedback = rows("a", 5) + rows("b", 1)
    train, test = split_by_time(feedback)
    assert [(f.user_id, f.item_id) for f in test] == [("a", "i4")]
    assert sorted((f.user_id, f.item_id) for f in train) == [
        ("a", "i0"),
        ("a", "i1"),
        ("a", "i2"),
        ("a", "i3"),
        ("b", "i0"),
    ]


def test_equal_timestamps_split_by_item_id():
    feedback = [Feedback(type="like", user_id="u", item_id=item, timestamp=7) for item in ("x", "y", "z")]
    train, test = split_by_time(feedback, test_fraction=0.34)
    assert [f.item_id for f in test] == ["z"]
    assert [f.item_id for f in train] == ["x", "y"]


def test_input_order_is_kept():
    feedback = list(reversed(rows("u", 10)))
    train, test = split_by_time(feedback)
    assert [f.item_id for f in test] == ["i9", "i8"]
    assert [f.item_id for f in train] == [f"i{t}" for t in range(7, -1, -1)]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_open_interval_rejected(fraction: float):
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_time(rows("u", 3), test_fraction=fraction)


def test_each_user_split_by_own_time():
    # User a's feedback is all older than b's: a global cut-off would put all of a in training.
    feedback = [
        Feedback(type="like", user_id=user, item_id=f"{user}{t}", timestamp=base + t)
        for user, base in (("b", 1000), ("a", 0))
        for t in range(5)
    ]
    train, test = split_by_time(feedback)
    assert sorted(f.item_id for f in test) == ["a4", "b4"]
    assert all(
        max(f.timestamp for f in train if f.user_id == user)
        < min(f.timestamp for f in test if f.user_id == user)
        for user in ("a", "b")
    )


@pytest.mark.parametrize(("count", "held_out"), [(2, 1), (3, 1), (4, 1), (7, 1), (8, 2), (12, 2), (13, 3)])
def test_held_out_count_rounds_to_nearest(count: int, held_out: int):
    train, test = split_by_time(rows("u", count))
    assert len(test) == held_out
    assert len(train) == count - held_out
