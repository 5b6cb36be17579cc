"""SIGTERM to real `recmesh serve` processes while calls are in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web

from recmesh.commands.serve import wait_until_serving
from recmesh.serving import free_loopback_port
from recmesh.storage import open_store
from recmesh.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc
from tests.conftest import small_catalog
from tests.ranker.fake_rerank_api import FakeRerankApi, reverse_scores

from .conftest import llm_ranker_toml, write_config

RERANK_DELAY_SECONDS = 0.3
SERVICES = ("candidate", "ranker", "gateway")
START_SECONDS = 60.0
IN_FLIGHT = 8
FEEDBACK_WRITERS = 2


async def slow_reverse_scores(request: web.Request, payload: dict[str, Any]) -> web.Response:
    await asyncio.sleep(RERANK_DELAY_SECONDS)
    return await reverse_scores(request, payload)


@pytest.fixture
def served(tmp_path: Path, api: FakeRerankApi) -> Iterator[dict[str, Any]]:
    """The three services as `recmesh serve` processes over a filled SQLite store, on free ports."""
    api.handler = slow_reverse_scores
    data_store = f"sqlite:///{tmp_path / 'served.db'}"
    store = open_store(data_store)
    users, items, feedback = small_catalog()
    store.insert_users(users)
    store.insert_items(items)
    store.insert_feedback(feedback)
    store.close()

    ports = {service: (free_loopback_port(), free_loopback_port()) for service in SERVICES}
    server_toml = '[server]\nhost = "127.0.0.1"\ngrace_seconds = 10\n' + "".join(
        f"[server.{service}]\ngrpc_port = {grpc_port}\nhttp_port = {http_port}\n"
        for service, (grpc_port, http_port) in ports.items()
    )
    config = write_config(tmp_path, data_store, llm_ranker_toml(api.url))
    Path(config.path).write_text(server_toml + Path(config.path).read_text())

    env = {**os.environ, "RECMESH_LOG_LEVEL": "INFO"}
    processes = {
        service: subprocess.Popen(
            [sys.executable, "-m", "recmesh.cli", "--config", config.path, "serve", service],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"{service}.log", "w"),  # the child process writes its log here
            env=env,
        )
        for service in SERVICES
    }
    try:
        yield {
            "processes": processes,
            "address": f"127.0.0.1:{ports['gateway'][0]}",
            "addresses": {s: f"127.0.0.1:{p[0]}" for s, p in ports.items()},
            "data_store": data_store,
            "logs": tmp_path,
        }
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


async def wait_serving(address: str, process: subprocess.Popen) -> None:
    """Wait off the event loop, which serves the test's fake rerank API meanwhile."""
    await asyncio.to_thread(wait_until_serving, address, time.monotonic() + START_SECONDS, process)


async def test_sigterm_lets_calls_in_flight_finish(served: dict[str, Any], api: FakeRerankApi) -> None:
    processes: dict[str, subprocess.Popen] = served["processes"]
    for service in SERVICES:
        await wait_serving(served["addresses"][service], processes[service])

    acknowledged: list[tuple[str, str]] = []
    stopping = asyncio.Event()

    async with grpc.aio.insecure_channel(served["address"]) as channel:
        stub = gateway_pb2_grpc.RecommendServiceStub(channel)

        async def write_feedback(writer: int) -> None:
            # Write until the gateway stops taking calls; count only what it acknowledged.
            row = 0
            while row < 500:
                row += 1
                user_id = f"writer-{writer}-{row}"
                request = gateway_pb2.InsertFeedbackRequest(
                    feedback=[common_pb2.Feedback(type="like", user_id=user_id, item_id="i1")]
                )
                try:
                    await stub.InsertFeedback(request, timeout=5)
                except grpc.aio.AioRpcError:
                    if stopping.is_set():
                        return
                    raise
                acknowledged.append((user_id, "i1"))

        writers = [asyncio.create_task(write_feedback(index)) for index in range(FEEDBACK_WRITERS)]
        # New users, so that every call goes through the ranker and waits for the slow rerank API.
        calls = [
            asyncio.ensure_future(
                stub.Recommend(gateway_pb2.RecommendRequest(user_id=f"slow-{index}", n=2), timeout=10)
            )
            for index in range(IN_FLIGHT)
        ]
        while len(api.requests) < IN_FLIGHT:
            await asyncio.sleep(0.01)

        stopping.set()
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        replies = await asyncio.gather(*calls)
        await asyncio.gather(*writers)

    codes = {service: await asyncio.to_thread(process.wait, 30) for service, process in processes.items()}
    assert codes == {service: 0 for service in SERVICES}
    assert [reply.ranker_used for reply in replies] == ["llm"] * IN_FLIGHT
    assert all(len(reply.items) == 2 for reply in replies)
    assert len(acknowledged) > 0
    store = open_store(served["data_store"])
    try:
        stored = {(f.user_id, f.item_id) for f in store.iter_feedback() if f.user_id.startswith("writer-")}
    finally:
        store.close()
    assert stored >= set(acknowledged)
    for service in SERVICES:
        log_text = (served["logs"] / f"{service}.log").read_text()
        assert "received a stop signal" in log_text
