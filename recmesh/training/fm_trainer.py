"""Fitting the FM ranker: a LightFM hybrid model over user and item features."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from lightfm import LightFM

from recmesh.entities import Feedback, Item, User
from recmesh.training.dataset import Interactions, build_interactions
from recmesh.training.fm_model import FMModel, item_feature_names, user_feature_names
from recmesh.user_context import FeedbackTypes


@dataclass(frozen=True)
class FMParams:
    components: int = 32
    epochs: int = 20
    learning_rate: float = 0.05
    # L2 penalty per sample on the feature embeddings.
    regularization: float = 1e-6
    threads: int = 2
    seed: int = 42


def fit_fm(
    interactions: Interactions,
    users: Sequence[User],
    items: Sequence[Item],
    params: FMParams,
    on_epoch: Callable[[], None] | None = None,
) -> FMModel:
    """Fit the ranker on positives (+1) and read-but-not-liked items (-1).

    The loss is LightFM's logistic loss because it is the only one that reads negative labels. WARP, BPR
    and k-OS draw their negatives at random from the items without positive feedback and drop the -1
    entries, so with them the ranker would never learn that a user read an item and did not like it.
    The model therefore estimates how likely a user is to like an item, and ranks candidates by that.
    """
    users_by_id = {user.id: user for user in users}
    items_by_id = {item.id: item for item in items}
    user_names = [
        user_feature_names(u, users_by_id[u].labels if u in users_by_id else {})
        for u in interactions.user_ids.tolist()
    ]
    item_names = [
        item_feature_names(i, items_by_id[i].categories, items_by_id[i].labels)
        if i in items_by_id
        else item_feature_names(i, (), {})
        for i in interactions.item_ids.tolist()
    ]
    user_vocabulary, user_features = _feature_matrix(user_names)
    item_vocabulary, item_features = _feature_matrix(item_names)
    labels = (interactions.positives - interactions.negatives).tocoo()

    model = LightFM(
        no_components=params.components,
        loss="logistic",
        learning_rate=params.learning_rate,
        user_alpha=params.regularization,
        item_alpha=params.regularization,
        random_state=np.random.RandomState(params.seed),
    )
    for _ in range(params.epochs):
        model.fit_partial(
            labels,
            user_features=user_features,
            item_features=item_features,
            epochs=1,
            num_threads=params.threads,
        )
        if on_epoch is not None:
            on_epoch()

    user_biases, user_vectors = model.get_user_representations(user_features)
    item_biases, item_vectors = model.get_item_representations(item_features)
    return FMModel(
        user_ids=interactions.user_ids,
        item_ids=interactions.item_ids,
        user_features=user_vocabulary,
        item_features=item_vocabulary,
        user_feature_vectors=_float32(model.user_embeddings),
        user_feature_biases=_float32(model.user_biases),
        item_feature_vectors=_float32(model.item_embeddings),
        item_feature_biases=_float32(model.item_biases),
        user_vectors=_float32(user_vectors),
        user_biases=_float32(user_biases),
        item_vectors=_float32(item_vectors),
        item_biases=_float32(item_biases),
        trained_at=time.time(),
    )


def fit_fm_on_feedback(
    feedback: Iterable[Feedback],
    users: Sequence[User],
    items: Sequence[Item],
    types: FeedbackTypes,
    params: FMParams,
    on_epoch: Callable[[], None] | None = None,
) -> FMModel:
    """Fit the ranker on the given feedback only, such as the training part of a time split.

    Every given user and item is indexed even without feedback, so the model can score them all.
    """
    interactions = build_interactions(feedback, (u.id for u in users), (i.id for i in items), types)
    return fit_fm(interactions, users, items, params, on_epoch)


def _feature_matrix(rows: list[list[str]]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Index the feature names and build a rows × features matrix whose rows each sum to 1."""
    vocabulary = sorted({name for names in rows for name in names})
    index = {name: i for i, name in enumerate(vocabulary)}
    row_ids = np.repeat(np.arange(len(rows)), [len(names) for names in rows])
    column_ids = np.array([index[name] for names in rows for name in names], dtype=np.int64)
    weights = np.concatenate([np.full(len(names), 1.0 / len(names), dtype=np.float32) for names in rows])
    matrix = sp.csr_matrix((weights, (row_ids, column_ids)), shape=(len(rows), len(vocabulary)))
    return np.array(vocabulary, dtype=str), matrix


def _float32(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32)
