"""Items the exclusion filter reads, kept for a few seconds so that a request does not read the
same few hundred items from the store again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from recmesh.entities import Item
from recmesh.storage import Store

# Maximum age of a cached item's hidden flag, timestamp and categories. An item inserted or changed
# through the gateway reaches the candidate service's filter within this time.
MAX_AGE_SECONDS = 5.0
MAX_ENTRIES = 200_000


class ItemCache:
    """Caches store.get_items per item id, unknown ids included, for max_age_seconds."""

    def __init__(
        self,
        store: Store,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[Item | None, float]] = {}

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, Item]:
        """Return the known items among item_ids; only ids missing or stale here are read, off the loop."""
        now = self.clock()
        found: dict[str, Item] = {}
        missing = []
        for item_id in item_ids:
            entry = self._entries.get(item_id)
            if entry is None or now - entry[1] > self.max_age_seconds:
                missing.append(item_id)
            elif entry[0] is not None:
                found[item_id] = entry[0]
        if not missing:
            return found

        fetched = await asyncio.to_thread(self.store.get_items, missing)
        if len(self._entries) + len(missing) > self.max_entries:
            self._entries.clear()
        stamp = self.clock()
        for item_id in missing:
            item = fetched.get(item_id)
            self._entries[item_id] = (item, stamp)
            if item is not None:
                found[item_id] = item
        return found
