"""Remove items a user must not be recommended from a source's output."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from recmesh.entities import Item
from recmesh.user_context import UserContext


class ExclusionFilter:
    """Drops, in this order: items the user has negative feedback on (always), items the user has
    any feedback on (unless replacement is on), explicitly excluded ids, hidden or unknown items,
    items older than the item TTL, and items outside the requested categories."""

    def __init__(
        self,
        context: UserContext,
        items: Mapping[str, Item],
        exclude: Iterable[str] = (),
        replacement: bool = False,
        item_ttl_seconds: int = 0,
        categories: Iterable[str] = (),
        now: float | None = None,
    ) -> None:
        self.blocked = set(context.negative_items) | set(exclude)
        if not replacement:
            self.blocked |= context.seen_items
        self.items = items
        now = time.time() if now is None else now
        self.oldest = now - item_ttl_seconds if item_ttl_seconds else float("-inf")
        self.categories = frozenset(categories)

    def is_allowed(self, item_id: str) -> bool:
        if item_id in self.blocked:
            return False
        item = self.items.get(item_id)
        if item is None or item.hidden or item.timestamp < self.oldest:
            return False
        return not self.categories or not self.categories.isdisjoint(item.categories)

    def apply(self, scored: list[tuple[str, float]]) -> list[tuple[str, float]]:
        return [(item_id, score) for item_id, score in scored if self.is_allowed(item_id)]
