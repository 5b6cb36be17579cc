"""The FM ranker model: LightFM feature embeddings, and scoring of one user's candidates in one dot product.

A user is represented by the features `user:ID` and `label:KEY=VALUE` per label; an item by `item:ID`,
`category:NAME` per category and `label:KEY=VALUE` per label. A representation is the weighted sum of its
features' embeddings (each row's weights sum to 1, as in training), so a user or item unseen in training
is scored from whichever of its categories and labels have embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from recmesh.entities import Item
from recmesh.training.artifact import ArtifactError, decode_artifact, encode_artifact

KIND = "fm-ranker"
ARRAYS = (
    "user_ids",
    "item_ids",
    "user_features",
    "item_features",
    "user_feature_vectors",
    "user_feature_biases",
    "item_feature_vectors",
    "item_feature_biases",
    "user_vectors",
    "user_biases",
    "item_vectors",
    "item_biases",
)


def user_feature_names(user_id: str, labels: Mapping[str, str]) -> list[str]:
    return [f"user:{user_id}", *(f"label:{key}={value}" for key, value in sorted(labels.items()))]


def item_feature_names(item_id: str, categories: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    return [
        f"item:{item_id}",
        *(f"category:{category}" for category in categories),
        *(f"label:{key}={value}" for key, value in sorted(labels.items())),
    ]


@dataclass(frozen=True)
class FMModel:
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_features: np.ndarray
    item_features: np.ndarray
    user_feature_vectors: np.ndarray
    user_feature_biases: np.ndarray
    item_feature_vectors: np.ndarray
    item_feature_biases: np.ndarray
    # Representations of the users and items seen in training, precomputed from their features.
    user_vectors: np.ndarray
    user_biases: np.ndarray
    item_vectors: np.ndarray
    item_biases: np.ndarray
    trained_at: float = 0.0
    user_index: dict[str, int] = field(init=False, repr=False, compare=False)
    item_index: dict[str, int] = field(init=False, repr=False, compare=False)
    user_feature_index: dict[str, int] = field(init=False, repr=False, compare=False)
    item_feature_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, values in (
            ("user_index", self.user_ids),
            ("item_index", self.item_ids),
            ("user_feature_index", self.user_features),
            ("item_feature_index", self.item_features),
        ):
            object.__setattr__(self, name, {value: i for i, value in enumerate(values.tolist())})

    def user_representation(
        self, user_id: str, labels: Mapping[str, str] | None = None
    ) -> tuple[np.ndarray, float]:
        """Return (vector, bias) of a user: the trained one, else built from known label features.

        A user with neither gets a zero vector and zero bias, which ranks items by their biases alone.
        """
        row = self.user_index.get(user_id)
        if row is not None:
            return self.user_vectors[row], float(self.user_biases[row])
        names = user_feature_names(user_id, labels or {})
        return _combine(names, self.user_feature_index, self.user_feature_vectors, self.user_feature_biases)

    def item_representations(
        self, item_ids: Sequence[str], unknown_items: Mapping[str, Item] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (vectors, biases) of the items, in order.

        An item unseen in training is built from the known features of its entry in unknown_items. An item
        without any known feature gets a zero vector and the mean item bias: a neutral score that puts it
        among the middle of the candidates.
        """
        rows = np.fromiter(
            (self.item_index.get(i, -1) for i in item_ids), dtype=np.int64, count=len(item_ids)
        )
        vectors = self.item_vectors[rows].copy()
        biases = self.item_biases[rows].copy()

        neutral_bias = float(self.item_biases.mean()) if len(self.item_biases) else 0.0
        unknown_items = unknown_items or {}
        for position in np.flatnonzero(rows < 0):
            item = unknown_items.get(item_ids[position])
            names = item_feature_names(item.id, item.categories, item.labels) if item else []
            vector, bias = _combine(
                names, self.item_feature_index, self.item_feature_vectors, self.item_feature_biases
            )
            known = any(name in self.item_feature_index for name in names)
            vectors[position] = vector
            biases[position] = bias if known else neutral_bias
        return vectors, biases

    def to_bytes(self) -> bytes:
        arrays = {name: getattr(self, name) for name in ARRAYS}
        return encode_artifact(KIND, arrays, {"trained_at": self.trained_at})

    @classmethod
    def from_bytes(cls, data: bytes) -> FMModel:
        """Read artifact bytes; raise ArtifactError when they are not an intact fm-ranker artifact."""
        arrays, meta = decode_artifact(KIND, data)
        missing = sorted(set(ARRAYS) - set(arrays))
        if missing:
            raise ArtifactError(
                f"{KIND} artifact lacks the arrays {', '.join(missing)}: retrain to replace it"
            )
        return cls(
            **{name: arrays[name] for name in ARRAYS}, trained_at=float(meta.get("trained_at", time.time()))
        )


def score_items(user: tuple[np.ndarray, float], items: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return the model's score of each item for the user: one matrix-vector product."""
    user_vector, user_bias = user
    item_vectors, item_biases = items
    return item_vectors @ user_vector + item_biases + user_bias


def _combine(
    names: Sequence[str], index: Mapping[str, int], vectors: np.ndarray, biases: np.ndarray
) -> tuple[np.ndarray, float]:
    rows = [index[name] for name in names if name in index]
    if not rows:
        return np.zeros(vectors.shape[1], dtype=vectors.dtype), 0.0
    weight = 1.0 / len(rows)
    return vectors[rows].sum(axis=0) * weight, float(biases[rows].sum() * weight)
