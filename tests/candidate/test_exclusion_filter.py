from __future__ import annotations

from recmesh.entities import Feedback, Item
from recmesh.user_context import FeedbackTypes, build_user_context
from services.candidate.exclusion_filter import ExclusionFilter

ITEMS = {
    "seen": Item("seen", categories=("a",), timestamp=100),
    "disliked": Item("disliked", categories=("a",), timestamp=100),
    "fresh": Item("fresh", categories=("a",), timestamp=100),
    "other": Item("other", categories=("b",), timestamp=100),
    "old": Item("old", categories=("a",), timestamp=1),
    "hidden": Item("hidden", categories=("a",), timestamp=100, hidden=True),
}
CONTEXT = build_user_context(
    "u", [Feedback("read", "u", "seen", 5), Feedback("dislike", "u", "disliked", 4)], FeedbackTypes(), now=200
)
ALL = [(item_id, 1.0) for item_id in [*ITEMS, "unknown"]]


def kept(exclusion: ExclusionFilter) -> list[str]:
    return [item_id for item_id, _ in exclusion.apply(ALL)]


def test_filter_drops_seen_negative_hidden_and_unknown() -> None:
    assert kept(ExclusionFilter(CONTEXT, ITEMS)) == ["fresh", "other", "old"]


def test_replacement_keeps_seen_but_never_negative() -> None:
    assert kept(ExclusionFilter(CONTEXT, ITEMS, replacement=True)) == ["seen", "fresh", "other", "old"]


def test_filter_drops_items_past_ttl() -> None:
    assert kept(ExclusionFilter(CONTEXT, ITEMS, item_ttl_seconds=150, now=200)) == ["fresh", "other"]


def test_filter_keeps_requested_categories_and_explicit_excludes() -> None:
    exclusion = ExclusionFilter(CONTEXT, ITEMS, exclude=["fresh"], categories=["a"])

    assert kept(exclusion) == ["old"]
