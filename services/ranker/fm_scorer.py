"""FM ranker: scores candidates with the LightFM hybrid model in one matrix-vector product."""

from __future__ import annotations

import asyncio
import logging

from recmesh.entities import Item, User
from recmesh.model_store import ModelStore
from recmesh.storage import Store, StoreError
from recmesh.training.fm_model import FMModel, score_items
from recmesh.user_context import UserContext
from services.ranker.scorer import Candidate, ScorerError

log = logging.getLogger(__name__)


class FMScorer:
    """Scorer backed by the loaded FM model.

    A user or item unseen in training is scored from its labels and categories, which are read from the
    store. One without any feature known to the model gets a neutral representation, as described in
    FMModel.user_representation and FMModel.item_representations.
    """

    name = "fm"

    def __init__(self, models: ModelStore[FMModel], store: Store | None = None) -> None:
        self.models = models
        self.store = store

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        model = self.models.current
        if model is None:
            raise ScorerError("unavailable", "no fm-ranker artifact is loaded; run `recmesh train`")
        if not candidates:
            return []

        item_ids = [candidate.item_id for candidate in candidates]
        unknown_ids = [i for i in item_ids if i not in model.item_index]
        user, unknown_items = await self._lookup_unseen(model, context.user_id, unknown_ids)

        user_representation = model.user_representation(context.user_id, user.labels if user else None)
        item_representations = model.item_representations(item_ids, unknown_items)
        return score_items(user_representation, item_representations).tolist()

    async def _lookup_unseen(
        self, model: FMModel, user_id: str, item_ids: list[str]
    ) -> tuple[User | None, dict[str, Item]]:
        """Read the user and items the model has not seen, for their features; both empty without a store."""
        need_user = user_id not in model.user_index
        if self.store is None or (not need_user and not item_ids):
            return None, {}
        store = self.store

        def read() -> tuple[User | None, dict[str, Item]]:
            user = store.get_user(user_id) if need_user else None
            items = store.get_items(item_ids) if item_ids else {}
            return user, items

        try:
            return await asyncio.to_thread(read)
        except StoreError as exc:
            # Without their features, unseen users and items get the neutral score: worse, but still an order.
            log.warning("cannot read features of unseen user %s or %d items: %s", user_id, len(item_ids), exc)
            return None, {}
