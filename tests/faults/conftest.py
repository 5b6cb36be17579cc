"""Fixtures of the fault tests: the trio with an LLM ranker against a fake rerank API, and the trio
over a store URL of the test's choosing (SQLite or PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from recmesh.config import Config, load_config
from recmesh.serving import ServiceRunner
from recmesh.storage import Store, open_store
from services.candidate.app import build_candidate_service
from services.gateway.app import build_gateway_service
from services.ranker.app import build_ranker_service
from tests.conftest import TRIO_CONFIG, Trio, runner_for, small_catalog
from tests.ranker.fake_rerank_api import FakeRerankApi, api

__all__ = ["api"]

RERANK_TOKEN = "sk-rerank-secret-5f2c9e"

# The trio's configuration with the LLM ranker. Its rerank API is the test's fake, and the merged
# order replaces the API's order when the API fails.
LLM_RANKER = """
[recommend.ranker]
type = "llm"
fallback = "none"
timeout_ms = 2000
breaker_failures = 0
query_template = "{{% for f in feedback %}}{{{{ f.item.comment }}}} {{% endfor %}}"
document_template = "{{{{ item.comment }}}}"

[recommend.ranker.reranker_api]
url = "{url}"
auth_token = "{token}"
model = "fake-rerank"
"""


def write_config(tmp_path: Path, data_store: str, ranker: str = "") -> Config:
    """Write the trio's configuration over data_store, with ranker replacing the `none` ranker."""
    text = TRIO_CONFIG.replace('data_store = "sqlite:///{db}"', f'data_store = "{data_store}"')
    if ranker:
        text = text.replace('[recommend.ranker]\ntype = "none"\n', ranker)
    path = tmp_path / "recmesh.toml"
    path.write_text(text)
    return load_config(path, env={})


def llm_ranker_toml(url: str, token: str = RERANK_TOKEN) -> str:
    return LLM_RANKER.format(url=url, token=token)


async def start_candidate(config: Config, store: Store, grpc_port: int = 0) -> ServiceRunner:
    runner = ServiceRunner(
        build_candidate_service(config, store), host="127.0.0.1", grpc_port=grpc_port, http_port=0
    )
    await runner.start()
    return runner


async def start_ranker(config: Config, store: Store, grpc_port: int = 0) -> ServiceRunner:
    runner = ServiceRunner(
        build_ranker_service(config, store), host="127.0.0.1", grpc_port=grpc_port, http_port=0
    )
    await runner.start()
    return runner


@contextlib.asynccontextmanager
async def running_trio(config: Config, fill: bool = True) -> AsyncIterator[Trio]:
    """Start the three services over config's store, with the small catalog in it when fill is set."""
    store = open_store(config.data_store)
    if fill:
        users, items, feedback = small_catalog()
        store.insert_users(users)
        store.insert_items(items)
        store.insert_feedback(feedback)
    candidate = await start_candidate(config, store)
    ranker = await start_ranker(config, store)
    gateway = runner_for(build_gateway_service(config, store, candidate.address, ranker.address), config)
    await gateway.start()
    channel = grpc.aio.insecure_channel(gateway.address)
    trio = Trio(config, store, candidate, ranker, gateway, channel)
    try:
        yield trio
    finally:
        await channel.close()
        # The test may have replaced a runner; stop whichever the trio refers to now.
        for runner in (trio.gateway, trio.ranker, trio.candidate):
            with contextlib.suppress(Exception):
                await runner.stop(grace=0.5)
        store.close()


@pytest.fixture
async def llm_trio(tmp_path: Path, api: FakeRerankApi) -> AsyncIterator[Trio]:
    """The trio with the LLM ranker scoring through the fake rerank API."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'trio.db'}", llm_ranker_toml(api.url))
    async with running_trio(config) as trio:
        yield trio
