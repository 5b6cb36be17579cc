"""Collaborative recommender: the user's best items by MF embedding dot product."""

from __future__ import annotations

from recmesh.model_store import ModelStore
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.selection import top_n
from recmesh.user_context import UserContext
from services.candidate.source_error import SourceError


class CollaborativeSource:
    type = "collaborative"

    def __init__(self, name: str, models: ModelStore[CandidateModels]) -> None:
        self.name = name
        self.models = models

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        """Score every item in one matrix-vector product and return the n best the user has not seen.

        A user without positive feedback at training time has no trained embedding and gets no candidates.
        """
        models = loaded_models(self.models, self.name)
        user = models.trained_user(context.user_id)
        if user is None or n <= 0:
            return []

        scores = models.item_vectors @ models.user_vectors[user] + models.item_biases
        chosen, values = top_n(scores, n, models.item_rows(context.seen_items))
        return list(zip(models.item_ids[chosen].tolist(), values.tolist(), strict=True))


def loaded_models(models: ModelStore[CandidateModels], source: str) -> CandidateModels:
    current = models.current
    if current is None:
        raise SourceError(
            "unavailable", f"{source}: no candidate-models artifact is loaded; run `recmesh train`"
        )
    return current
