"""Ranked lists kept per user and flow version, so that pages of one list never repeat an item."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Value]):
    value: Value
    expires_at: float


class ResultCache(Generic[Value]):
    """A bounded LRU map whose entries expire after ttl_seconds. Not thread-safe: use it from the
    event loop only."""

    def __init__(self, max_entries: int = 10_000, ttl_seconds: float = 300.0) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[Hashable, _Entry[Value]] = OrderedDict()

    def get(self, key: Hashable) -> Value | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(self, key: Hashable, value: Value) -> None:
        self._entries[key] = _Entry(value, time.monotonic() + self.ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard_user(self, user_id: str) -> None:
        """Drop every entry whose key starts with user_id."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == user_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
