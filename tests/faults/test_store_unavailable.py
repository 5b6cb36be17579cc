"""The store missing at start, and lost and regained while the services run."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest

from recmesh.serving import free_loopback_port
from recmesh.v1 import common_pb2, gateway_pb2
from tests.conftest import Trio
from tests.postgres_helpers import PostgresSchemas, TcpProxy, via_proxy

from .conftest import running_trio, write_config

# The PostgreSQL pool reconnects with a backoff of up to about 10 s after the server is back.
RECOVERY_SECONDS = 25.0


def serve_with_store(tmp_path: Path, data_store: str) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path, data_store)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "recmesh.cli",
            "--config",
            config.path,
            "serve",
            "gateway",
            "--grpc-port",
            "0",
            "--http-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "level=ERROR" in line]


def test_sqlite_path_that_is_a_directory_stops_start(tmp_path: Path) -> None:
    directory = tmp_path / "not-a-database"
    directory.mkdir()

    finished = serve_with_store(tmp_path, f"sqlite:///{directory}")

    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert len(error_lines(finished.stderr)) == 1
    assert str(directory) in error_lines(finished.stderr)[0]
    assert "the store is unavailable" in error_lines(finished.stderr)[0]


def test_postgres_on_closed_port_stops_start(tmp_path: Path) -> None:
    port = free_loopback_port()  # nothing listens on it once it is returned

    finished = serve_with_store(tmp_path, f"postgresql://recmesh:hunter2@127.0.0.1:{port}/recmesh")

    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert len(error_lines(finished.stderr)) == 1
    assert f"PostgreSQL at 127.0.0.1:{port}/recmesh" in error_lines(finished.stderr)[0]
    assert "hunter2" not in finished.stderr


def feedback_request(user_id: str) -> gateway_pb2.InsertFeedbackRequest:
    return gateway_pb2.InsertFeedbackRequest(
        feedback=[common_pb2.Feedback(type="like", user_id=user_id, item_id="i2")]
    )


@pytest.fixture
async def locking_trio(tmp_path: Path) -> AsyncIterator[Trio]:
    # A short busy timeout, so that a write meeting a lock fails well within the call's deadline.
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'locked.db'}?timeout=0.2")
    async with running_trio(config) as trio:
        yield trio


async def test_locked_sqlite_write_is_unavailable_then_recovers(locking_trio: Trio, tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await locking_trio.stub.InsertFeedback(feedback_request("u1"), timeout=5)
        # WAL readers do not wait for the writer, so Recommend keeps returning items meanwhile.
        during = await locking_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=5)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    written = await locking_trio.stub.InsertFeedback(feedback_request("u1"), timeout=5)

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "database is locked" in caught.value.details()
    assert str(tmp_path / "locked.db") in caught.value.details()
    assert len(during.items) == 2
    assert written.written == 1
    assert ("u1", "i2") in {(f.user_id, f.item_id) for f in locking_trio.store.user_feedback("u1")}


@pytest.fixture
def proxy(postgres_schemas: PostgresSchemas) -> Iterator[tuple[TcpProxy, str]]:
    url = postgres_schemas.new_url()
    parts = urlsplit(url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    yield proxy, via_proxy(url, proxy)
    proxy.stop()


async def recommend_until_ok(trio: Trio) -> gateway_pb2.RecommendResponse:
    """Call Recommend until it returns a reply without a fallback: each service's connection pool
    reconnects on its own, so the gateway may first reply from its store-only fallback."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        try:
            reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
        else:
            if not reply.fallbacks or time.monotonic() > deadline:
                return reply
        await asyncio.sleep(0.5)


async def test_postgres_outage_is_unavailable_then_recovers(
    tmp_path: Path, proxy: tuple[TcpProxy, str]
) -> None:
    tcp_proxy, url = proxy
    config = write_config(tmp_path, url)
    async with running_trio(config) as trio:
        before = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=10)
        tcp_proxy.stop()

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u2", n=2), timeout=10)
        tcp_proxy.start()
        after = await recommend_until_ok(trio)

    assert len(before.items) == 2
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert f"PostgreSQL at 127.0.0.1:{tcp_proxy.port}" in caught.value.details()
    assert [item.item_id for item in after.items] == [item.item_id for item in before.items]
