"""The contract every recommender (a candidate source) implements."""

from __future__ import annotations

from typing import Protocol

from recmesh.user_context import UserContext


class Source(Protocol):
    """A recommender. `name` is the flow node id, which candidates carry as their provenance."""

    name: str
    type: str

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        """Return up to n (item id, score) pairs, best first. Exclusion happens after the merge;
        a source may still skip the seen items its context lists."""
        ...
