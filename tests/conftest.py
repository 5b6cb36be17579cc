from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from recmesh.config import Config, load_config
from recmesh.entities import Feedback, Item, User
from recmesh.serving import ServiceRunner
from recmesh.storage import Store, open_store
from recmesh.v1 import gateway_pb2_grpc
from services.candidate.app import build_candidate_service
from services.gateway.app import build_gateway_service
from services.ranker.app import build_ranker_service
from services.ranker.minilm_embedder import MiniLmEmbedder, ensure_tokenizer

from .postgres_helpers import POSTGRES_URL, PostgresSchemas

FIXTURES = Path(__file__).parent / "fixtures"

# Store-only recommenders and no trained ranker, so the trio serves without training.
TRIO_CONFIG = """
[database]
data_store = "sqlite:///{db}"

[admin]
token = "admin-secret"

[recommend]
default_n = 3
max_n = 50
cache_size = 20
reload_seconds = 0.2

[[recommend.sources]]
name = "popular"
type = "non_personalized"

[[recommend.sources]]
name = "latest"
type = "latest"

[recommend.ranker]
type = "none"

[recommend.fallback]
sources = ["latest"]
"""


def small_catalog() -> tuple[list[User], list[Item], list[Feedback]]:
    """Six items i1..i6 (i6 hidden), three users; i1 is liked by all but u1, i2 by two users."""
    users = [User(id=f"u{n}", labels={"age": str(20 + n)}) for n in range(1, 4)]
    items = [
        Item(
            id=f"i{n}",
            categories=("drama",) if n % 2 else ("comedy",),
            timestamp=1000 + n,
            comment=f"Item {n}",
        )
        for n in range(1, 6)
    ]
    items.append(Item(id="i6", categories=("drama",), timestamp=2000, comment="Hidden", hidden=True))
    feedback = [
        Feedback("like", "u2", "i1", 10),
        Feedback("like", "u3", "i1", 11),
        Feedback("like", "u2", "i2", 12),
        Feedback("like", "u3", "i2", 13),
        Feedback("like", "u1", "i3", 14),
        Feedback("read", "u1", "i4", 15),
        Feedback("like", "u3", "i6", 16),
    ]
    return users, items, feedback


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(POSTGRES_URL)
    yield schemas
    schemas.drop_all()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the rerank model's tokenizer, fetched once per test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(model_dir: Path) -> MiniLmEmbedder:
    return MiniLmEmbedder(ensure_tokenizer(model_dir))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'test.db'}")
    yield opened
    opened.close()


@pytest.fixture
def filled_store(store: Store) -> Store:
    users, items, feedback = small_catalog()
    store.insert_users(users)
    store.insert_items(items)
    store.insert_feedback(feedback)
    return store


@pytest.fixture
def trio_config(tmp_path: Path) -> Config:
    path = tmp_path / "recmesh.toml"
    path.write_text(TRIO_CONFIG.format(db=tmp_path / "trio.db"))
    return load_config(path, env={})


@dataclass
class Trio:
    config: Config
    store: Store
    candidate: ServiceRunner
    ranker: ServiceRunner
    gateway: ServiceRunner
    channel: grpc.aio.Channel

    @property
    def stub(self) -> gateway_pb2_grpc.RecommendServiceStub:
        return gateway_pb2_grpc.RecommendServiceStub(self.channel)


def runner_for(spec, config: Config) -> ServiceRunner:  # type: ignore[no-untyped-def]
    return ServiceRunner(spec, host="127.0.0.1", grpc_port=0, http_port=0, grace_seconds=1.0)


@contextlib.asynccontextmanager
async def running_trio(config: Config, store: Store) -> AsyncIterator[Trio]:
    """Start candidate, ranker and gateway on loopback ports chosen by the system, over one store."""
    candidate = runner_for(build_candidate_service(config, store), config)
    ranker = runner_for(build_ranker_service(config, store), config)
    await candidate.start()
    await ranker.start()
    gateway = runner_for(build_gateway_service(config, store, candidate.address, ranker.address), config)
    await gateway.start()
    channel = grpc.aio.insecure_channel(gateway.address)
    try:
        yield Trio(config, store, candidate, ranker, gateway, channel)
    finally:
        await channel.close()
        for runner in (gateway, ranker, candidate):
            with contextlib.suppress(Exception):
                await runner.stop(grace=0.5)


@pytest.fixture
async def trio(trio_config: Config) -> AsyncIterator[Trio]:
    """The three services over one SQLite file holding small_catalog()."""
    store = open_store(trio_config.data_store)
    users, items, feedback = small_catalog()
    store.insert_users(users)
    store.insert_items(items)
    store.insert_feedback(feedback)
    try:
        async with running_trio(trio_config, store) as started:
            yield started
    finally:
        store.close()
