"""Item-to-item recommender: neighbours of the user's newest positive items, their similarities summed."""

from __future__ import annotations

import numpy as np

from recmesh.model_store import ModelStore
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.neighbors import SIMILARITIES
from recmesh.training.selection import top_n
from recmesh.user_context import UserContext
from services.candidate.collaborative_source import loaded_models


class ItemToItemSource:
    type = "item_to_item"

    def __init__(
        self, name: str, models: ModelStore[CandidateModels], similarity: str, context_size: int
    ) -> None:
        if similarity not in SIMILARITIES:
            raise ValueError(
                f"{name}: similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}"
            )
        if context_size < 1:
            raise ValueError(f"{name}: context_size must be at least 1, got {context_size}")
        self.name = name
        self.models = models
        self.similarity = similarity
        self.context_size = context_size

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        """Sum the neighbour similarities of the newest context_size positive items found in the model.

        Items the user has seen (the seed items among them) are left out.
        """
        models = loaded_models(self.models, self.name)
        seeds = [models.item_index[i] for i in context.positive_items if i in models.item_index]
        seeds = seeds[: self.context_size]
        if not seeds or n <= 0:
            return []

        neighbors = models.item_neighbors[self.similarity]
        indices = neighbors.indices[seeds].ravel()
        similarities = neighbors.scores[seeds].ravel()
        valid = indices >= 0
        scores = np.bincount(indices[valid], weights=similarities[valid], minlength=len(models.item_ids))
        # Items no seed points to are not candidates, however many slots are left.
        scores[scores <= 0] = -np.inf

        chosen, values = top_n(scores, n, models.item_rows(context.seen_items))
        return list(zip(models.item_ids[chosen].tolist(), values.tolist(), strict=True))
