from __future__ import annotations

import pytest

from recmesh.entities import Feedback, Item, User
from recmesh.model_store import ModelStore
from recmesh.storage.sqlite import SQLiteStore
from recmesh.training import fm_model
from recmesh.training.dataset import Corpus
from recmesh.training.fm_model import FMModel
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes, UserContext
from services.ranker.fm_scorer import FMScorer
from services.ranker.scorer import Candidate, ScorerError
from tests import tiny_corpus

# Eight viewers all liked "good" and all read "bad" without liking it; "newcomer" saw neither.
VIEWERS = [f"v{i}" for i in range(8)]
ITEMS = [
    Item(id="good", categories=("comedy",)),
    Item(id="bad", categories=("horror",)),
    Item(id="other", categories=("comedy",)),
]


def corpus() -> Corpus:
    feedback = []
    for viewer in VIEWERS:
        feedback.append(Feedback(type="like", user_id=viewer, item_id="good", timestamp=1))
        feedback.append(Feedback(type="read", user_id=viewer, item_id="bad", timestamp=2))
    feedback.append(Feedback(type="like", user_id="newcomer", item_id="other", timestamp=3))
    users = [User(id=viewer, labels={"age": "30"}) for viewer in VIEWERS] + [User(id="newcomer")]
    return Corpus(users=users, items=ITEMS, feedback=feedback)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = SQLiteStore(f"sqlite:///{tmp_path_factory.mktemp('fm')}/store.db")
    store.insert_items([*ITEMS, Item(id="fresh-comedy", categories=("comedy",))])
    store.insert_users([User(id="stranger", labels={"age": "30"})])
    save_models(store, train_models(corpus(), FeedbackTypes(), tiny_corpus.fast_options()))
    yield store
    store.close()


@pytest.fixture(scope="module")
def models(store) -> ModelStore[FMModel]:
    models = ModelStore(store, fm_model.KIND, FMModel.from_bytes)
    assert models.load_latest()
    return models


def candidates(*item_ids: str) -> list[Candidate]:
    return [Candidate(item_id=item_id, merged_score=0.0) for item_id in item_ids]


async def test_liked_item_scores_above_disliked(models, store):
    scores = await FMScorer(models, store).score(UserContext(user_id="newcomer"), candidates("bad", "good"))
    assert len(scores) == 2
    assert scores[1] > scores[0]


async def test_viewer_scores_liked_above_read(models, store):
    scores = await FMScorer(models, store).score(UserContext(user_id="v3"), candidates("good", "bad"))
    assert scores[0] > scores[1]


async def test_unseen_user_scored_from_labels(models, store):
    scores = await FMScorer(models, store).score(UserContext(user_id="stranger"), candidates("good", "bad"))
    assert scores[0] > scores[1]


async def test_unseen_item_scored_from_categories(models, store):
    model = models.current
    scores = await FMScorer(models, store).score(UserContext(user_id="v1"), candidates("fresh-comedy"))
    user = model.user_representation("v1")
    comedy = model.item_feature_index["category:comedy"]
    expected = user[0] @ model.item_feature_vectors[comedy] + model.item_feature_biases[comedy] + user[1]
    assert scores[0] == pytest.approx(float(expected), rel=1e-5)


async def test_item_without_features_gets_neutral_score(models):
    model = models.current
    scores = await FMScorer(models).score(UserContext(user_id="v1"), candidates("ghost"))
    user_bias = model.user_representation("v1")[1]
    assert scores[0] == pytest.approx(float(model.item_biases.mean()) + user_bias, rel=1e-5)


async def test_no_model_raises_unavailable(store):
    empty = ModelStore(store, "nothing-saved", FMModel.from_bytes)
    with pytest.raises(ScorerError) as raised:
        await FMScorer(empty, store).score(UserContext(user_id="v1"), candidates("good"))
    assert raised.value.reason == "unavailable"


async def test_empty_candidates_empty_scores(models):
    assert await FMScorer(models).score(UserContext(user_id="v1"), []) == []
