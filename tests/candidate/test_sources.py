from __future__ import annotations

import pytest

from recmesh.model_store import ModelStore
from recmesh.storage.sqlite import SQLiteStore
from recmesh.training import candidate_models
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes, UserContext, build_user_context
from services.candidate.collaborative_source import CollaborativeSource
from services.candidate.item_to_item_source import ItemToItemSource
from services.candidate.source_error import SourceError
from services.candidate.user_to_user_source import UserToUserSource
from tests import tiny_corpus


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sources") / "store.db"
    store = SQLiteStore(f"sqlite:///{path}")
    save_models(store, train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options()))
    yield store
    store.close()


@pytest.fixture(scope="module")
def models(store) -> ModelStore[CandidateModels]:
    models = ModelStore(store, candidate_models.KIND, CandidateModels.from_bytes)
    assert models.load_latest()
    return models


def context(user_id: str) -> UserContext:
    rows = sorted(
        (f for f in tiny_corpus.feedback() if f.user_id == user_id), key=lambda f: f.timestamp, reverse=True
    )
    return build_user_context(user_id, rows, FeedbackTypes())


async def test_collaborative_completes_action_fan(models):
    recommended = await CollaborativeSource("cf", models).recommend(context("u2"), 1)
    assert [item for item, _ in recommended] == ["a3"]


async def test_collaborative_completes_drama_fan(models):
    recommended = await CollaborativeSource("cf", models).recommend(context("u4"), 1)
    assert [item for item, _ in recommended] == ["d3"]


async def test_collaborative_skips_seen_and_sorts(models):
    recommended = await CollaborativeSource("cf", models).recommend(context("u2"), 10)
    items = [item for item, _ in recommended]
    scores = [score for _, score in recommended]
    assert sorted(items) == ["a3", "d2", "d3"]
    assert scores == sorted(scores, reverse=True)


async def test_collaborative_unknown_user_empty(models):
    assert await CollaborativeSource("cf", models).recommend(context("nobody"), 5) == []


async def test_collaborative_without_model_raises(store):
    empty = ModelStore(store, "nothing-saved", CandidateModels.from_bytes)
    with pytest.raises(SourceError) as raised:
        await CollaborativeSource("cf", empty).recommend(context("u2"), 5)
    assert raised.value.reason == "unavailable"


async def test_item_to_item_co_occurrence_sums_seeds(models):
    source = ItemToItemSource("i2i", models, similarity="co_occurrence", context_size=10)
    # a3 is the 0.5-cosine neighbour of both a1 and a2; nothing else neighbours them.
    assert await source.recommend(context("u2"), 5) == [("a3", pytest.approx(1.0))]


async def test_item_to_item_context_size_limits_seeds(models):
    source = ItemToItemSource("i2i", models, similarity="co_occurrence", context_size=1)
    # u4's newest positive is d2, whose only unseen neighbour is d3 (cosine 1/sqrt(2)).
    assert await source.recommend(context("u4"), 5) == [("d3", pytest.approx(2**-0.5))]


async def test_item_to_item_attributes_uses_categories(models):
    source = ItemToItemSource("i2i", models, similarity="attributes", context_size=10)
    recommended = await source.recommend(context("u5"), 5)
    # Every other action film shares u5's a3's one category; Jaccard 1 from the one seed.
    assert recommended == [("a1", pytest.approx(1.0)), ("a2", pytest.approx(1.0))]


async def test_item_to_item_without_positives_empty(models):
    source = ItemToItemSource("i2i", models, similarity="embedding", context_size=10)
    assert await source.recommend(context("nobody"), 5) == []


async def test_user_to_user_co_occurrence(models):
    source = UserToUserSource("u2u", models, similarity="co_occurrence", neighbors=5)
    # u2's only co-occurrence neighbour is u1 (cosine 2/sqrt(6)); of u1's films u2 has not seen a3.
    assert await source.recommend(context("u2"), 5) == [("a3", pytest.approx(2 / 6**0.5))]


async def test_user_to_user_labels(models):
    source = UserToUserSource("u2u", models, similarity="attributes", neighbors=5)
    # u4 shares its one label with u3 only; u3's film u4 has not seen is d3.
    assert await source.recommend(context("u4"), 5) == [("d3", pytest.approx(1.0))]


async def test_user_to_user_unknown_user_empty(models):
    source = UserToUserSource("u2u", models, similarity="embedding", neighbors=5)
    assert await source.recommend(context("nobody"), 5) == []


def test_invalid_similarity_rejected(models):
    with pytest.raises(ValueError, match="similarity"):
        ItemToItemSource("i2i", models, similarity="jaccard", context_size=3)
