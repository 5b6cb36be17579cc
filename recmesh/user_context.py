"""The user a request is for, as every stage reads it: their feedback, classified once per request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from recmesh.config import DataSourceSettings
from recmesh.entities import Feedback
from recmesh.storage import Store
from recmesh.v1 import flow_pb2


@dataclass(frozen=True, slots=True)
class FeedbackTypes:
    positive: tuple[str, ...] = ("like",)
    read: tuple[str, ...] = ("read",)
    negative: tuple[str, ...] = ("dislike",)
    positive_ttl_seconds: int = 0
    item_ttl_seconds: int = 0

    @classmethod
    def from_settings(cls, settings: DataSourceSettings) -> FeedbackTypes:
        return cls(
            positive=settings.positive_feedback_types,
            read=settings.read_feedback_types,
            negative=settings.negative_feedback_types,
            positive_ttl_seconds=settings.positive_feedback_ttl_seconds,
            item_ttl_seconds=settings.item_ttl_seconds,
        )


@dataclass(frozen=True, slots=True)
class UserContext:
    user_id: str
    # Every feedback of the user, newest first.
    feedback: tuple[Feedback, ...] = ()
    # Items with positive feedback inside the positive TTL, newest first, each once.
    positive_items: tuple[str, ...] = ()
    negative_items: frozenset[str] = field(default_factory=frozenset)
    # Items with any feedback at all.
    seen_items: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_known(self) -> bool:
        return bool(self.feedback)


def build_user_context(
    user_id: str,
    feedback: list[Feedback] | tuple[Feedback, ...],
    types: FeedbackTypes,
    now: float | None = None,
) -> UserContext:
    """Classify a user's feedback (newest first) by the data source's feedback types."""
    now = time.time() if now is None else now
    oldest_positive = now - types.positive_ttl_seconds if types.positive_ttl_seconds else float("-inf")
    positive = set(types.positive)
    negative = set(types.negative)
    positive_items = [f.item_id for f in feedback if f.type in positive and f.timestamp >= oldest_positive]
    return UserContext(
        user_id=user_id,
        feedback=tuple(feedback),
        positive_items=tuple(dict.fromkeys(positive_items)),
        negative_items=frozenset(f.item_id for f in feedback if f.type in negative),
        seen_items=frozenset(f.item_id for f in feedback),
    )


def load_user_context(store: Store, user_id: str, types: FeedbackTypes) -> UserContext:
    """Read the user's feedback from the store (one indexed query) and classify it."""
    return build_user_context(user_id, store.user_feedback(user_id), types)


def feedback_types_from_proto(config: flow_pb2.DataSourceConfig, default: FeedbackTypes) -> FeedbackTypes:
    """Read a flow's data source node; feedback type lists it leaves empty take the defaults."""
    return FeedbackTypes(
        positive=tuple(config.positive_feedback_types) or default.positive,
        read=tuple(config.read_feedback_types) or default.read,
        negative=tuple(config.negative_feedback_types) or default.negative,
        positive_ttl_seconds=config.positive_feedback_ttl_seconds,
        item_ttl_seconds=config.item_ttl_seconds,
    )
