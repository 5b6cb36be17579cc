from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from recmesh.config import load_config
from recmesh.storage import Store, open_store
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc, flow_pb2
from services.candidate.app import build_candidate_service

from .. import tiny_corpus
from ..conftest import runner_for

FIVE_SOURCES = [
    flow_pb2.Node(id="latest", latest=flow_pb2.LatestConfig()),
    flow_pb2.Node(id="popular", non_personalized=flow_pb2.NonPersonalizedConfig(name="popular")),
    flow_pb2.Node(id="cf", collaborative=flow_pb2.CollaborativeConfig(name="cf")),
    flow_pb2.Node(id="i2i", item_to_item=flow_pb2.ItemToItemConfig(name="i2i")),
    flow_pb2.Node(id="u2u", user_to_user=flow_pb2.UserToUserConfig(name="u2u")),
]


@pytest.fixture
async def candidates(tmp_path: Path) -> AsyncIterator[tuple[candidate_pb2_grpc.CandidateServiceStub, Store]]:
    store = open_store(f"sqlite:///{tmp_path / 'candidates.db'}")
    corpus = tiny_corpus.corpus()
    store.insert_users(corpus.users)
    store.insert_items(corpus.items)
    store.insert_feedback(corpus.feedback)
    save_models(store, train_models(corpus, FeedbackTypes(), tiny_corpus.fast_options()))
    config = load_config(env={"RECMESH_DATA_STORE": f"sqlite:///{tmp_path / 'candidates.db'}"})
    runner = runner_for(build_candidate_service(config, store), config)
    await runner.start()
    async with grpc.aio.insecure_channel(runner.address) as channel:
        yield candidate_pb2_grpc.CandidateServiceStub(channel), store
    await runner.stop(grace=0.5)
    store.close()


async def test_five_sources_never_return_seen_items(candidates) -> None:  # type: ignore[no-untyped-def]
    stub, store = candidates

    for user in store.iter_users():
        reply = await stub.GetCandidates(
            candidate_pb2.GetCandidatesRequest(user_id=user.id, sources=FIVE_SOURCES, n=50), timeout=5
        )

        ids = [candidate.item_id for candidate in reply.candidates]
        seen = {feedback.item_id for feedback in store.user_feedback(user.id)}
        assert ids, f"no candidates for {user.id}"
        assert len(ids) == len(set(ids)), f"duplicates for {user.id}: {ids}"
        assert not seen & set(ids), f"seen items recommended to {user.id}: {seen & set(ids)}"
        assert all(candidate.sources for candidate in reply.candidates)
        assert [report.source for report in reply.sources] == ["latest", "popular", "cf", "i2i", "u2u"]
        assert all(report.error == "" for report in reply.sources)
        assert sum(report.contributed for report in reply.sources) == len(ids)


async def test_provenance_lists_every_source_of_an_item(candidates) -> None:  # type: ignore[no-untyped-def]
    stub, _ = candidates

    reply = await stub.GetCandidates(
        candidate_pb2.GetCandidatesRequest(user_id="u2", sources=FIVE_SOURCES, n=50), timeout=5
    )

    a3 = next(candidate for candidate in reply.candidates if candidate.item_id == "a3")
    names = [source.source for source in a3.sources]
    assert {"popular", "cf", "i2i", "u2u"} <= set(names)
    assert names[0] == "latest"
    assert reply.model_version == "1"


async def test_unknown_source_type_is_invalid_argument(candidates) -> None:  # type: ignore[no-untyped-def]
    stub, _ = candidates
    request = candidate_pb2.GetCandidatesRequest(
        user_id="u1", sources=[flow_pb2.Node(id="r", ranker=flow_pb2.RankerConfig())], n=5
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetCandidates(request, timeout=5)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "recommender type 'ranker' is not supported" in caught.value.details()
