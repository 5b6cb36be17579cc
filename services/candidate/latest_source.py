"""The `latest` recommender: the newest visible items by timestamp."""

from __future__ import annotations

import time

from recmesh.storage import Store
from recmesh.user_context import UserContext
from services.candidate.shared_list_cache import SharedListCache

# The newest items are the same for every user, so one read serves all requests for this long.
# A new item reaches the list within this time plus one read.
CACHE_SECONDS = 1.0


class LatestSource:
    type = "latest"

    def __init__(self, name: str, store: Store, item_ttl_seconds: int = 0) -> None:
        self.name = name
        self.store = store
        self.item_ttl_seconds = item_ttl_seconds
        self._newest = SharedListCache(name, self._query, CACHE_SECONDS)

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        # Ask for the user's seen items on top, so that n survive the exclusion that follows.
        newest = await self._newest.get(n + len(context.seen_items))
        since = time.time() - self.item_ttl_seconds if self.item_ttl_seconds else float("-inf")
        return [
            (item_id, stamp)
            for item_id, stamp in newest
            if item_id not in context.seen_items and stamp >= since
        ][:n]

    def _query(self, size: int) -> list[tuple[str, float]]:
        since = int(time.time()) - self.item_ttl_seconds if self.item_ttl_seconds else 0
        return [(item.id, float(item.timestamp)) for item in self.store.latest_items(size, since)]
