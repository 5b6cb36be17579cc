from __future__ import annotations

import asyncio

from services.candidate.shared_list_cache import SharedListCache


class CountingFetch:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.version = 0
        self.fail = False

    def __call__(self, size: int) -> list[tuple[str, float]]:
        self.calls.append(size)
        if self.fail:
            raise RuntimeError("store down")
        return [(f"v{self.version}-{k}", float(k)) for k in range(size)]


async def test_fresh_list_is_read_once() -> None:
    fetch = CountingFetch()
    cache = SharedListCache("newest", fetch, max_age_seconds=60)

    first = await cache.get(3)
    second = await cache.get(2)

    assert fetch.calls == [3]
    assert second is first


async def test_longer_request_waits_for_a_longer_read() -> None:
    fetch = CountingFetch()
    cache = SharedListCache("newest", fetch, max_age_seconds=60)

    await cache.get(2)
    longer = await cache.get(5)

    assert fetch.calls == [2, 5]
    assert len(longer) == 5


async def test_stale_list_is_served_while_it_refreshes() -> None:
    fetch = CountingFetch()
    cache = SharedListCache("newest", fetch, max_age_seconds=0)
    await cache.get(2)
    fetch.version = 1

    stale = await cache.get(2)
    await asyncio.sleep(0.05)
    refreshed = await cache.get(2)

    assert stale[0][0] == "v0-0"
    assert refreshed[0][0] == "v1-0"


async def test_failed_refresh_keeps_previous_list() -> None:
    fetch = CountingFetch()
    cache = SharedListCache("newest", fetch, max_age_seconds=0)
    await cache.get(2)
    fetch.fail = True

    await cache.get(2)
    await asyncio.sleep(0.05)
    kept = await cache.get(2)

    assert kept[0][0] == "v0-0"
