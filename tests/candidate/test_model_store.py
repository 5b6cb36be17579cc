from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

from recmesh.model_store import ModelStore
from recmesh.storage.sqlite import SQLiteStore
from recmesh.training import candidate_models
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.trainer import train_models
from recmesh.user_context import FeedbackTypes, build_user_context
from services.candidate.collaborative_source import CollaborativeSource
from tests import tiny_corpus

KIND = candidate_models.KIND


@pytest.fixture(scope="module")
def artifact_bytes() -> bytes:
    result = train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options())
    return result.candidate_models.to_bytes()


@pytest.fixture
def store(tmp_path):
    store = SQLiteStore(f"sqlite:///{tmp_path}/store.db")
    yield store
    store.close()


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"kind": KIND})


def test_nothing_saved_leaves_none(store):
    models = ModelStore(store, KIND, CandidateModels.from_bytes)
    assert not models.load_latest()
    assert models.current is None
    assert models.version == 0
    assert models.age_seconds() == 0.0


def test_newest_version_loaded(store, artifact_bytes):
    store.save_artifact(KIND, artifact_bytes)
    store.save_artifact(KIND, artifact_bytes)
    models = ModelStore(store, KIND, CandidateModels.from_bytes, clock=lambda: 10**10)
    assert models.load_latest()
    assert models.version == 2
    assert gauge("recmesh_model_version") == 2
    assert gauge("recmesh_model_age_seconds") > 0
    assert not models.load_latest()


def test_corrupt_version_rejected_old_serves(store, artifact_bytes, caplog):
    store.save_artifact(KIND, artifact_bytes)
    models = ModelStore(store, KIND, CandidateModels.from_bytes)
    models.load_latest()
    serving = models.current
    failures = REGISTRY.get_sample_value("recmesh_model_load_failures_total", {"kind": KIND}) or 0.0

    store.save_artifact(KIND, artifact_bytes[: len(artifact_bytes) // 2])
    with caplog.at_level(logging.ERROR, logger="recmesh.model_store"):
        assert not models.load_latest()

    assert models.current is serving
    assert models.version == 1
    assert "rejected candidate-models artifact version 2" in caplog.text
    assert REGISTRY.get_sample_value("recmesh_model_load_failures_total", {"kind": KIND}) == failures + 1
    # The rejected version is not read and logged again on the next poll.
    caplog.clear()
    assert not models.load_latest()
    assert caplog.text == ""


def test_intact_version_after_corrupt_loads(store, artifact_bytes):
    models = ModelStore(store, KIND, CandidateModels.from_bytes)
    store.save_artifact(KIND, b"garbage")
    assert not models.load_latest()
    store.save_artifact(KIND, artifact_bytes)
    assert models.load_latest()
    assert models.version == 2


async def test_polling_picks_up_new_version(store, artifact_bytes):
    store.save_artifact(KIND, artifact_bytes)
    models = ModelStore(store, KIND, CandidateModels.from_bytes)
    models.start(poll_seconds=0.02)
    try:
        await _wait_for(lambda: models.version == 1)
        store.save_artifact(KIND, artifact_bytes)
        await _wait_for(lambda: models.version == 2)
    finally:
        await models.stop()


async def test_swap_under_concurrent_requests(store, artifact_bytes):
    store.save_artifact(KIND, artifact_bytes)
    models = ModelStore(store, KIND, CandidateModels.from_bytes)
    models.load_latest()
    source = CollaborativeSource("cf", models)
    feedback = [f for f in tiny_corpus.feedback() if f.user_id == "u2"]
    context = build_user_context("u2", feedback, FeedbackTypes())
    stop = asyncio.Event()
    answers: list[list[str]] = []

    async def request_loop() -> None:
        while not stop.is_set():
            answers.append([item for item, _ in await source.recommend(context, 3)])
            await asyncio.sleep(0)

    async def swap_loop() -> None:
        for _ in range(5):
            store.save_artifact(KIND, artifact_bytes)
            assert await models.refresh()
        stop.set()

    await asyncio.wait_for(asyncio.gather(*(request_loop() for _ in range(8)), swap_loop()), timeout=30)

    assert models.version == 6
    assert len(answers) >= 8
    assert all(sorted(answer) == ["a3", "d2", "d3"] for answer in answers)


async def _wait_for(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
