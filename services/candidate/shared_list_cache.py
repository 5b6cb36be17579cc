"""A store-read list that is the same for every user, kept for a short time and refreshed behind
the requests that use it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

ScoredIds = list[tuple[str, float]]


class SharedListCache:
    """Holds the first `size` entries of a list that `fetch(size)` reads from the store.

    A request that needs no more entries than are cached gets them at once, and when they are
    older than max_age_seconds one background task reads them again. A request that needs more
    waits for a read of that size. So once warm, no request waits on the store, and the list is
    at most max_age_seconds plus one read old.
    """

    def __init__(self, name: str, fetch: Callable[[int], ScoredIds], max_age_seconds: float) -> None:
        self.name = name
        self.fetch = fetch
        self.max_age_seconds = max_age_seconds
        self._entries: ScoredIds = []
        self._size = 0
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    async def get(self, size: int) -> ScoredIds:
        if size <= self._size:
            if self._is_stale() and (self._refresh is None or self._refresh.done()):
                self._refresh = asyncio.create_task(self._reload(self._size))
                self._refresh.add_done_callback(self._log_failure)
            return self._entries
        async with self._lock:
            if size > self._size:
                await self._reload(size)
            return self._entries

    def _is_stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self.max_age_seconds

    async def _reload(self, size: int) -> None:
        entries = await asyncio.to_thread(self.fetch, size)
        if size >= self._size or self._is_stale():
            self._entries, self._size, self._fetched_at = entries, size, time.monotonic()

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning("refreshing %s failed, serving the previous list: %s", self.name, task.exception())
