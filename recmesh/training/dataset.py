"""The training input read from the store, and the sparse user × item matrices built from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recmesh.entities import Feedback, Item, User
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes


@dataclass(frozen=True)
class Corpus:
    """Everything one training run reads from the store."""

    users: list[User]
    items: list[Item]
    # Ordered by timestamp, as Store.iter_feedback yields it.
    feedback: list[Feedback]


@dataclass(frozen=True)
class Interactions:
    """Users and items in sorted id order, and who liked or rejected what.

    Row i of each matrix is user_ids[i], column j is item_ids[j]. An item counts as a negative for a user
    when the user read it or gave it negative feedback and never gave it positive feedback.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_index: dict[str, int]
    item_index: dict[str, int]
    positives: sp.csr_matrix
    negatives: sp.csr_matrix

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)


def read_corpus(store: Store) -> Corpus:
    return Corpus(
        users=list(store.iter_users()),
        items=list(store.iter_items()),
        feedback=list(store.iter_feedback()),
    )


def build_interactions(
    feedback: Iterable[Feedback],
    user_ids: Iterable[str],
    item_ids: Iterable[str],
    types: FeedbackTypes,
) -> Interactions:
    """Index every given user and item, plus any that only appear in feedback, and fill the matrices."""
    feedback = list(feedback)
    users = np.array(sorted(set(user_ids) | {f.user_id for f in feedback}), dtype=str)
    items = np.array(sorted(set(item_ids) | {f.item_id for f in feedback}), dtype=str)
    user_index = {user_id: i for i, user_id in enumerate(users.tolist())}
    item_index = {item_id: j for j, item_id in enumerate(items.tolist())}

    positive_types = set(types.positive)
    rejecting_types = set(types.read) | set(types.negative)
    liked = {(user_index[f.user_id], item_index[f.item_id]) for f in feedback if f.type in positive_types}
    rejected = {
        (user_index[f.user_id], item_index[f.item_id]) for f in feedback if f.type in rejecting_types
    } - liked

    shape = (len(users), len(items))
    return Interactions(
        user_ids=users,
        item_ids=items,
        user_index=user_index,
        item_index=item_index,
        positives=_binary_matrix(liked, shape),
        negatives=_binary_matrix(rejected, shape),
    )


def _binary_matrix(cells: set[tuple[int, int]], shape: tuple[int, int]) -> sp.csr_matrix:
    if not cells:
        return sp.csr_matrix(shape, dtype=np.float32)
    rows, columns = np.array(sorted(cells), dtype=np.int32).T
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, columns)), shape=shape)
