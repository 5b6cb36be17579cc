"""The `latest` recommender: the newest visible items by timestamp."""

from __future__ import annotations

import asyncio
import time

from recmesh.storage import Store
from recmesh.user_context import UserContext


class LatestSource:
    type = "latest"

    def __init__(self, name: str, store: Store, item_ttl_seconds: int = 0) -> None:
        self.name = name
        self.store = store
        self.item_ttl_seconds = item_ttl_seconds

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        since = int(time.time()) - self.item_ttl_seconds if self.item_ttl_seconds else 0
        # Ask for the user's seen items on top, so that n survive the exclusion that follows.
        wanted = n + len(context.seen_items)
        items = await asyncio.to_thread(self.store.latest_items, wanted, since)
        return [(item.id, float(item.timestamp)) for item in items if item.id not in context.seen_items][:n]
