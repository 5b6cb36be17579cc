from __future__ import annotations

from recmesh.entities import Item
from recmesh.storage import Store
from services.candidate.item_cache import ItemCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_cached_items_are_not_read_again(filled_store: Store) -> None:
    clock = Clock()
    cache = ItemCache(filled_store, max_age_seconds=5, clock=clock)
    await cache.get_items(["i1", "i2"])
    filled_store.insert_items([Item("i1", comment="changed")])

    items = await cache.get_items(["i1", "i2", "ghost"])

    assert items["i1"].comment == "Item 1"
    assert set(items) == {"i1", "i2"}


async def test_stale_items_are_read_again(filled_store: Store) -> None:
    clock = Clock()
    cache = ItemCache(filled_store, max_age_seconds=5, clock=clock)
    await cache.get_items(["i1", "ghost"])
    filled_store.insert_items([Item("i1", comment="changed"), Item("ghost", comment="now stored")])
    clock.now += 6

    items = await cache.get_items(["i1", "ghost"])

    assert items["i1"].comment == "changed"
    assert items["ghost"].comment == "now stored"


async def test_cache_is_emptied_when_full(filled_store: Store) -> None:
    cache = ItemCache(filled_store, max_entries=3)

    await cache.get_items(["i1", "i2", "i3"])
    items = await cache.get_items(["i4", "i5"])

    assert set(items) == {"i4", "i5"}
    assert len(cache._entries) == 2
