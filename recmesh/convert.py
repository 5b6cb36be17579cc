"""Conversions between protobuf messages and the plain values in recmesh.entities."""

from __future__ import annotations

from recmesh.entities import Feedback, Item, User
from recmesh.v1 import common_pb2


def user_from_proto(message: common_pb2.User) -> User:
    return User(id=message.id, labels=dict(message.labels), comment=message.comment)


def user_to_proto(user: User) -> common_pb2.User:
    return common_pb2.User(id=user.id, labels=user.labels, comment=user.comment)


def item_from_proto(message: common_pb2.Item) -> Item:
    return Item(
        id=message.id,
        categories=tuple(message.categories),
        timestamp=message.timestamp,
        labels=dict(message.labels),
        comment=message.comment,
        hidden=message.hidden,
    )


def item_to_proto(item: Item) -> common_pb2.Item:
    return common_pb2.Item(
        id=item.id,
        categories=item.categories,
        timestamp=item.timestamp,
        labels=item.labels,
        comment=item.comment,
        hidden=item.hidden,
    )


def feedback_from_proto(message: common_pb2.Feedback) -> Feedback:
    return Feedback(
        type=message.type,
        user_id=message.user_id,
        item_id=message.item_id,
        timestamp=message.timestamp,
        value=message.value,
    )


def feedback_to_proto(feedback: Feedback) -> common_pb2.Feedback:
    return common_pb2.Feedback(
        type=feedback.type,
        user_id=feedback.user_id,
        item_id=feedback.item_id,
        timestamp=feedback.timestamp,
        value=feedback.value,
    )
