from __future__ import annotations

import aiohttp
import pytest

from recmesh.model_store import ModelStore
from recmesh.storage.sqlite import SQLiteStore
from recmesh.training.candidate_models import CandidateModels
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from services.candidate.collaborative_source import CollaborativeSource
from services.candidate.external_source import ExternalSource
from services.candidate.item_to_item_source import ItemToItemSource
from services.candidate.source_factory import SourceDeps, build_source
from services.candidate.user_to_user_source import UserToUserSource


@pytest.fixture
async def parts(tmp_path):
    store = SQLiteStore(f"sqlite:///{tmp_path}/store.db")
    async with aiohttp.ClientSession() as session:
        models = ModelStore(store, "candidate-models", CandidateModels.from_bytes)
        yield SourceDeps(store=store, types=FeedbackTypes(), models=models, http_session=session)
    store.close()


async def test_each_type_builds_its_source(parts):
    nodes = [
        flow_pb2.Node(id="cf", collaborative=flow_pb2.CollaborativeConfig()),
        flow_pb2.Node(
            id="i2i",
            item_to_item=flow_pb2.ItemToItemConfig(similarity=flow_pb2.SIMILARITY_EMBEDDING, context_size=4),
        ),
        flow_pb2.Node(id="u2u", user_to_user=flow_pb2.UserToUserConfig()),
        flow_pb2.Node(id="ext", external=flow_pb2.ExternalConfig(url="http://127.0.0.1:1/x")),
    ]
    cf, i2i, u2u, ext = (build_source(node, parts) for node in nodes)

    assert isinstance(cf, CollaborativeSource)
    assert isinstance(i2i, ItemToItemSource)
    assert (i2i.name, i2i.similarity, i2i.context_size) == ("i2i", "embedding", 4)
    assert isinstance(u2u, UserToUserSource)
    assert (u2u.similarity, u2u.neighbors) == ("co_occurrence", 20)
    assert isinstance(ext, ExternalSource)
    assert ext.timeout.total == 0.5


async def test_non_recommender_node_rejected(parts):
    with pytest.raises(ValueError, match="recommender type 'ranker' is not supported"):
        build_source(flow_pb2.Node(id="rank", ranker=flow_pb2.RankerConfig()), parts)


async def test_trained_types_need_models(parts):
    without_models = SourceDeps(store=parts.store, types=FeedbackTypes())

    with pytest.raises(ValueError, match="no trained models"):
        build_source(flow_pb2.Node(id="cf", collaborative=flow_pb2.CollaborativeConfig()), without_models)
