"""Two gateway processes, one candidate and one ranker process, all on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp import web

from recmesh.commands.serve import wait_until_serving
from recmesh.serving import free_loopback_port
from recmesh.storage import open_store
from recmesh.training.dataset import read_corpus
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2, gateway_pb2, gateway_pb2_grpc
from tests.postgres_helpers import PostgresSchemas
from tests.ranker.fake_rerank_api import FakeRerankApi, reverse_scores

from ..conftest import small_catalog
from ..tiny_corpus import fast_options

METRIC_NAMES = Path(__file__).parents[2] / "k8s" / "base" / "monitoring" / "metric-names.txt"
ADMIN_TOKEN = "replica-admin-token"

CONFIG = """
[database]
data_store = "{url}"
[server]
grace_seconds = 2
[server.gateway]
grpc_port = {gateway}
http_port = {gateway_http}
[server.candidate]
grpc_port = {candidate}
http_port = {candidate_http}
[server.ranker]
grpc_port = {ranker}
http_port = {ranker_http}
[admin]
token = "{token}"
[recommend]
default_n = 3
reload_seconds = 0.3
timeout_ms = 5000
[[recommend.sources]]
name = "collaborative"
type = "collaborative"
[[recommend.sources]]
name = "popular"
type = "non_personalized"
[[recommend.sources]]
name = "latest"
type = "latest"
[recommend.ranker]
type = "llm"
fallback = "fm"
breaker_failures = 0
[recommend.ranker.reranker_api]
url = "{rerank_url}"
[recommend.fallback]
sources = ["latest"]
"""


@dataclass
class Cluster:
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen]

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"


async def wait_serving(address: str, process: subprocess.Popen) -> None:
    """Wait off the event loop, which serves the test's fake rerank API meanwhile."""
    await asyncio.to_thread(wait_until_serving, address, time.monotonic() + 60, process)


@contextlib.contextmanager
def stopped_at_exit(processes: dict[str, subprocess.Popen]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def rerank_api() -> AsyncIterator[FakeRerankApi]:
    """Fails every third call with 400, so that both the reranker and the fallback leave metrics."""
    server = FakeRerankApi()
    calls = {"count": 0}

    async def sometimes_failing(request: web.Request, payload: dict[str, Any]) -> web.Response:
        calls["count"] += 1
        if calls["count"] % 3 == 0:
            return web.json_response({"error": "overloaded"}, status=400)
        return await reverse_scores(request, payload)

    server.handler = sometimes_failing
    await server.start()
    yield server
    server.released.set()
    assert server.runner is not None
    await server.runner.cleanup()


@pytest.fixture
async def cluster(
    tmp_path: Path, postgres_schemas: PostgresSchemas, rerank_api: FakeRerankApi
) -> AsyncIterator[Cluster]:
    url = postgres_schemas.new_url()
    store = open_store(url)
    users, items, feedback = small_catalog()
    store.insert_users(users)
    store.insert_items(items)
    store.insert_feedback(feedback)
    save_models(store, train_models(read_corpus(store), FeedbackTypes(), fast_options()))
    store.close()

    names = [
        "gateway",
        "gateway_http",
        "candidate",
        "candidate_http",
        "ranker",
        "ranker_http",
        "gateway2",
        "gateway2_http",
    ]
    ports = {name: free_loopback_port() for name in names}
    config = tmp_path / "cluster.toml"
    config.write_text(CONFIG.format(url=url, token=ADMIN_TOKEN, rerank_url=rerank_api.url, **ports))
    base = [sys.executable, "-m", "recmesh.cli", "--config", str(config), "serve"]
    commands = {
        "candidate": [*base, "candidate"],
        "ranker": [*base, "ranker"],
        "gateway": [*base, "gateway"],
        "gateway2": [
            *base,
            "gateway",
            "--grpc-port",
            str(ports["gateway2"]),
            "--http-port",
            str(ports["gateway2_http"]),
        ],
    }
    processes: dict[str, subprocess.Popen] = {}
    with stopped_at_exit(processes):
        for name, command in commands.items():
            processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in commands:
            await wait_serving(f"127.0.0.1:{ports[name]}", processes[name])
        yield Cluster(ports, processes)


async def recommend(address: str, user_id: str = "u1") -> gateway_pb2.RecommendResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = gateway_pb2_grpc.RecommendServiceStub(channel)
        return await stub.Recommend(gateway_pb2.RecommendRequest(user_id=user_id, n=3), timeout=10)


async def scrape(port: int) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as reply:
        return await reply.text()


async def test_both_gateways_serve_from_one_database(cluster: Cluster) -> None:
    first = await recommend(cluster.address("gateway"))
    second = await recommend(cluster.address("gateway2"))

    assert len(first.items) == 3
    assert [i.item_id for i in first.items] == [i.item_id for i in second.items]
    assert first.flow_version == second.flow_version == 0


async def test_flow_pushed_through_one_gateway_reaches_the_other(cluster: Cluster) -> None:
    failures: list[str] = []
    versions: list[int] = []
    stop = asyncio.Event()

    async def keep_requesting() -> None:
        async with grpc.aio.insecure_channel(cluster.address("gateway2")) as channel:
            stub = gateway_pb2_grpc.RecommendServiceStub(channel)
            for _ in range(2000):
                if stop.is_set():
                    return
                try:
                    reply = await stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=10)
                    versions.append(reply.flow_version)
                except grpc.aio.AioRpcError as exc:
                    failures.append(f"{exc.code().name}: {exc.details()}")

    load = asyncio.create_task(keep_requesting())
    await asyncio.sleep(0.3)
    async with grpc.aio.insecure_channel(cluster.address("gateway")) as channel:
        admin = gateway_pb2_grpc.FlowAdminServiceStub(channel)
        metadata = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        live = await admin.GetFlow(gateway_pb2.GetFlowRequest(), metadata=metadata, timeout=5)
        changed = flow_pb2.FlowGraph()
        changed.CopyFrom(live)
        for node in changed.nodes:
            if node.WhichOneof("config") == "ranker":
                node.ranker.type = flow_pb2.RANKER_TYPE_FM
        saved = await admin.SetFlow(
            gateway_pb2.SetFlowRequest(flow=changed, comment="rank with fm"), metadata=metadata, timeout=5
        )

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not versions or versions[-1] != saved.version):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    stop.set()
    await load

    assert failures == []
    assert versions[0] == 0
    assert versions[-1] == saved.version
    served = await recommend(cluster.address("gateway2"))
    assert served.ranker_used == "fm"


async def test_every_metric_of_alerts_and_dashboard_is_exported(cluster: Cluster) -> None:
    for user_id in ("u1", "u2", "u3", "nobody"):
        await recommend(cluster.address("gateway"), user_id)
    exported = "".join(
        [await scrape(cluster.ports[f"{name}_http"]) for name in ("gateway", "candidate", "ranker")]
    )

    names = [
        line.strip()
        for line in METRIC_NAMES.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [name for name in names if f"\n{name}" not in exported and f"\n{name}_bucket" not in exported]
    assert names
    assert missing == []
