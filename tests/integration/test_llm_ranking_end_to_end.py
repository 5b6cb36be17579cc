from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import grpc
import pytest
from aiohttp import web

from recmesh.config import load_config
from recmesh.entities import Feedback, Item, User
from recmesh.flow.default import flow_from_config
from recmesh.storage import open_store
from recmesh.training.dataset import read_corpus
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import gateway_pb2, ranker_pb2, ranker_pb2_grpc
from services.gateway.flow_plan import plan_flow
from services.ranker.minilm_embedder import MiniLmEmbedder
from services.ranker.rerank_server import build_app

from ..conftest import Trio, running_trio
from ..tiny_corpus import fast_options

CONFIG = """
[database]
data_store = "sqlite:///{db}"
[recommend]
default_n = 4
max_n = 20
cache_size = 20
[[recommend.sources]]
name = "popular"
type = "non_personalized"
[[recommend.sources]]
name = "latest"
type = "latest"
[recommend.ranker]
type = "llm"
fallback = "fm"
timeout_ms = 3000
breaker_failures = 0
query_template = "A viewer who liked: {{% for f in feedback %}}{{{{ f.item.comment }}}}; {{% endfor %}}"
document_template = "{{{{ item.comment }}}}"
[recommend.ranker.reranker_api]
url = "{url}/v1/rerank"
[recommend.fallback]
sources = ["latest"]
"""

TITLES = {
    "m1": "Star Wars: rebels fight the Empire's fleet in outer space",
    "m2": "The Empire Strikes Back: a space battle saga continues",
    "m3": "Alien: a spaceship crew hunted in deep space",
    "m4": "Baking bread: a documentary about sourdough and ovens",
    "m5": "Pasta at home: a cooking show about Italian kitchens",
    "m6": "Gardening for beginners: roses, tulips and soil",
    "m7": "Return of the Jedi: the final space war against the Empire",
}


def space_fan_store(path: Path):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{path}")
    store.insert_users([User(id=f"u{n}") for n in range(1, 6)])
    store.insert_items(
        [
            Item(id=item_id, comment=title, timestamp=100 + n)
            for n, (item_id, title) in enumerate(TITLES.items())
        ]
    )
    likes = {
        "fan": ["m1", "m2"],
        "u1": ["m1", "m4", "m5"],
        "u2": ["m4", "m5", "m6"],
        "u3": ["m3", "m4"],
        "u4": ["m7", "m6"],
    }
    store.insert_feedback(
        Feedback("like", user_id, item_id, 10 + k)
        for user_id, items in likes.items()
        for k, item_id in enumerate(items)
    )
    return store


@contextlib.asynccontextmanager
async def rerank_server(embedder: MiniLmEmbedder) -> AsyncIterator[tuple[str, web.AppRunner]]:
    executor = ThreadPoolExecutor(max_workers=2)
    runner = web.AppRunner(build_app(embedder, executor))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", runner
    finally:
        await runner.cleanup()
        executor.shutdown()


@pytest.fixture
async def llm_trio(
    tmp_path: Path, embedder: MiniLmEmbedder
) -> AsyncIterator[tuple[Trio, str, web.AppRunner]]:
    store = space_fan_store(tmp_path / "llm.db")
    save_models(store, train_models(read_corpus(store), FeedbackTypes(), fast_options()))
    async with rerank_server(embedder) as (url, runner):
        config_path = tmp_path / "llm.toml"
        config_path.write_text(CONFIG.format(db=tmp_path / "llm.db", url=url))
        config = load_config(config_path, env={})
        try:
            async with running_trio(config, store) as trio:
                yield trio, url, runner
        finally:
            store.close()


async def rerank_order(url: str, query: str, documents: list[ranker_pb2.Document]) -> list[str]:
    body = {"query": query, "documents": [d.text for d in documents]}
    async with aiohttp.ClientSession() as session, session.post(f"{url}/v1/rerank", json=body) as reply:
        results = (await reply.json())["results"]
    ordered = sorted(results, key=lambda r: -r["relevance_score"])
    return [documents[r["index"]].item_id for r in ordered]


async def test_llm_ranker_orders_by_rerank_scores(llm_trio: tuple[Trio, str, web.AppRunner]) -> None:
    trio, url, _ = llm_trio
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="fan", n=4), timeout=10)
    returned = [item.item_id for item in reply.items]

    async with grpc.aio.insecure_channel(trio.ranker.address) as channel:
        preview = await ranker_pb2_grpc.RankerServiceStub(channel).PreviewPrompt(
            ranker_pb2.PreviewPromptRequest(
                user_id="fan",
                item_ids=returned,
                ranker=plan_flow(flow_from_config(trio.config.recommend)).ranker,
            ),
            timeout=10,
        )

    assert reply.ranker_used == "llm"
    assert not reply.fallbacks
    assert "Star Wars" in preview.query
    assert [d.item_id for d in preview.documents] == returned
    assert returned == await rerank_order(url, preview.query, list(preview.documents))
    assert returned[0] in {"m3", "m7"}


async def test_stopped_rerank_server_falls_back_to_fm(llm_trio: tuple[Trio, str, web.AppRunner]) -> None:
    trio, _, runner = llm_trio
    await runner.cleanup()

    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="fan", n=4), timeout=10)

    assert reply.ranker_used == "fm"
    assert reply.fallbacks[0].stage == "ranker"
    assert reply.fallbacks[0].reason == "unavailable"
    assert reply.fallbacks[0].used == "fm"
    assert len(reply.items) == 4
