"""The trained models the candidate service's recommenders read: MF embeddings and neighbour lists.

One instance is immutable once built (its arrays are read-only), so a request can keep using the instance
it started with while a newer one is swapped in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recmesh.training.artifact import ArtifactError, decode_artifact, encode_artifact
from recmesh.training.neighbors import SIMILARITIES

KIND = "candidate-models"
REQUIRED_ARRAYS = (
    "user_ids",
    "item_ids",
    "user_vectors",
    "item_vectors",
    "item_biases",
    "user_trained",
    "positive_indptr",
    "positive_items",
)


@dataclass(frozen=True)
class NeighborLists:
    """Row i contains the neighbours of entity i: indices (-1 pads a short list) and similarities, best first."""

    indices: np.ndarray
    scores: np.ndarray

    def of(self, row: int, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Return the valid neighbours of one row, at most limit of them when limit > 0."""
        indices = self.indices[row]
        count = int((indices >= 0).sum())
        if limit > 0:
            count = min(count, limit)
        return indices[:count], self.scores[row, :count]


@dataclass(frozen=True)
class CandidateModels:
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    item_biases: np.ndarray
    # Users with positive feedback in training; the embedding of any other user is untrained noise.
    user_trained: np.ndarray
    # Each user's positive items at training time, as CSR row pointers and column indices.
    positive_indptr: np.ndarray
    positive_items: np.ndarray
    item_neighbors: dict[str, NeighborLists]
    user_neighbors: dict[str, NeighborLists]
    trained_at: float = 0.0
    user_index: dict[str, int] = field(init=False, repr=False, compare=False)
    item_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_index", {u: i for i, u in enumerate(self.user_ids.tolist())})
        object.__setattr__(self, "item_index", {v: j for j, v in enumerate(self.item_ids.tolist())})

    def trained_user(self, user_id: str) -> int | None:
        """Return the row of a user whose embedding was trained, or None."""
        row = self.user_index.get(user_id)
        if row is None or not self.user_trained[row]:
            return None
        return row

    def item_rows(self, item_ids: frozenset[str] | set[str] | tuple[str, ...]) -> np.ndarray:
        """Return the rows of the known items among item_ids."""
        rows = [self.item_index[i] for i in item_ids if i in self.item_index]
        return np.array(rows, dtype=np.int64)

    def positives_of(self, user_row: int) -> np.ndarray:
        return self.positive_items[self.positive_indptr[user_row] : self.positive_indptr[user_row + 1]]

    def to_bytes(self) -> bytes:
        arrays = {
            "user_ids": self.user_ids,
            "item_ids": self.item_ids,
            "user_vectors": self.user_vectors,
            "item_vectors": self.item_vectors,
            "item_biases": self.item_biases,
            "user_trained": self.user_trained,
            "positive_indptr": self.positive_indptr,
            "positive_items": self.positive_items,
        }
        for prefix, lists in (("item", self.item_neighbors), ("user", self.user_neighbors)):
            for similarity, neighbors in lists.items():
                arrays[f"{prefix}_neighbors.{similarity}.indices"] = neighbors.indices
                arrays[f"{prefix}_neighbors.{similarity}.scores"] = neighbors.scores
        meta: dict[str, Any] = {"trained_at": self.trained_at}
        return encode_artifact(KIND, arrays, meta)

    @classmethod
    def from_bytes(cls, data: bytes) -> CandidateModels:
        """Read artifact bytes; raise ArtifactError when they are not an intact candidate-models artifact."""
        arrays, meta = decode_artifact(KIND, data)
        missing = sorted(set(REQUIRED_ARRAYS) - set(arrays))
        if missing:
            raise ArtifactError(
                f"{KIND} artifact lacks the arrays {', '.join(missing)}: retrain to replace it"
            )
        return cls(
            user_ids=arrays["user_ids"],
            item_ids=arrays["item_ids"],
            user_vectors=arrays["user_vectors"],
            item_vectors=arrays["item_vectors"],
            item_biases=arrays["item_biases"],
            user_trained=arrays["user_trained"],
            positive_indptr=arrays["positive_indptr"],
            positive_items=arrays["positive_items"],
            item_neighbors=_neighbor_lists(arrays, "item"),
            user_neighbors=_neighbor_lists(arrays, "user"),
            trained_at=float(meta.get("trained_at", time.time())),
        )


def _neighbor_lists(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, NeighborLists]:
    lists = {}
    for similarity in SIMILARITIES:
        indices = arrays.get(f"{prefix}_neighbors.{similarity}.indices")
        scores = arrays.get(f"{prefix}_neighbors.{similarity}.scores")
        if indices is not None and scores is not None:
            lists[similarity] = NeighborLists(indices=indices, scores=scores)
    return lists
