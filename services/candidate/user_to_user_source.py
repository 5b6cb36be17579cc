"""User-to-user recommender: the positive items of similar users, weighted by their similarity."""

from __future__ import annotations

import numpy as np

from recmesh.model_store import ModelStore
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.neighbors import SIMILARITIES
from recmesh.training.selection import top_n
from recmesh.user_context import UserContext
from services.candidate.collaborative_source import loaded_models


class UserToUserSource:
    type = "user_to_user"

    def __init__(
        self, name: str, models: ModelStore[CandidateModels], similarity: str, neighbors: int
    ) -> None:
        if similarity not in SIMILARITIES:
            raise ValueError(
                f"{name}: similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}"
            )
        if neighbors < 1:
            raise ValueError(f"{name}: neighbors must be at least 1, got {neighbors}")
        self.name = name
        self.models = models
        self.similarity = similarity
        self.neighbors = neighbors

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        """Score each item by the summed similarity of the neighbours who liked it.

        Neighbours and their positive items are those of the newest training run.
        NOTE: at most the k neighbours stored per user at training time are read, even when `neighbors` is larger.
        """
        models = loaded_models(self.models, self.name)
        user = models.user_index.get(context.user_id)
        if user is None or n <= 0:
            return []
        neighbor_rows, similarities = models.user_neighbors[self.similarity].of(user, self.neighbors)
        if not len(neighbor_rows):
            return []

        starts = models.positive_indptr[neighbor_rows]
        stops = models.positive_indptr[neighbor_rows + 1]
        lengths = stops - starts
        items = models.positive_items[
            np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
        ]
        weights = np.repeat(similarities, lengths)
        scores = np.bincount(items, weights=weights, minlength=len(models.item_ids))
        scores[scores <= 0] = -np.inf

        chosen, values = top_n(scores, n, models.item_rows(context.seen_items))
        return list(zip(models.item_ids[chosen].tolist(), values.tolist(), strict=True))
