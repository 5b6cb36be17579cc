"""The FM ranker's column: the model trained on the training split scores each user's test items."""

from __future__ import annotations

from collections.abc import Mapping

from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.entities import Item, User
from recmesh.training.fm_model import FMModel, score_items


class FmColumn:
    name = "fm"

    def __init__(self, model: FMModel, users: Mapping[str, User], items: Mapping[str, Item]) -> None:
        self._model = model
        self._users = users
        self._items = items

    async def score(self, user: EvaluationUser) -> list[float]:
        stored = self._users.get(user.user_id)
        representation = self._model.user_representation(user.user_id, stored.labels if stored else None)
        items = self._model.item_representations(list(user.item_ids), self._items)
        return score_items(representation, items).tolist()
