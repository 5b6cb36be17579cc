from __future__ import annotations

from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes, load_user_context
from services.candidate.latest_source import LatestSource
from services.candidate.popular_source import NonPersonalizedSource


async def test_latest_returns_newest_visible_unseen(filled_store: Store) -> None:
    context = load_user_context(filled_store, "u1", FeedbackTypes())

    items = await LatestSource("latest", filled_store).recommend(context, 3)

    assert items == [("i5", 1005.0), ("i2", 1002.0), ("i1", 1001.0)]


async def test_popular_counts_likes_and_skips_hidden(filled_store: Store) -> None:
    context = load_user_context(filled_store, "nobody", FeedbackTypes())

    items = await NonPersonalizedSource("popular", filled_store, ["like"]).recommend(context, 5)

    assert items == [("i1", 2.0), ("i2", 2.0), ("i3", 1.0)]


async def test_popular_filters_categories_and_min_count(filled_store: Store) -> None:
    context = load_user_context(filled_store, "nobody", FeedbackTypes())
    source = NonPersonalizedSource("popular_drama", filled_store, ["like"], min_count=2, categories=["drama"])

    assert await source.recommend(context, 5) == [("i1", 2.0)]
