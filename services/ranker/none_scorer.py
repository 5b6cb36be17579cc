"""The `none` ranker: keeps the merged order."""

from __future__ import annotations

from recmesh.user_context import UserContext
from services.ranker.scorer import Candidate


class NoneScorer:
    name = "none"

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        # Descending position scores: the stable sort that follows keeps the merged order.
        count = len(candidates)
        return [float(count - position) for position in range(count)]
