"""Concurrent feedback writes and Recommend reads through the gateway lose no acknowledged write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recmesh.v1 import common_pb2, gateway_pb2
from tests.conftest import Trio

from .conftest import running_trio, write_config

WRITERS = 8
ROWS_PER_WRITER = 200
ROWS_PER_CALL = 10
READERS = 2
ITEMS = ("i1", "i2", "i3", "i4", "i5")


@pytest.fixture(params=["sqlite", "postgres"])
async def backend_trio(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trio]:
    if request.param == "sqlite":
        data_store = f"sqlite:///{tmp_path / 'concurrent.db'}"
    else:
        data_store = request.getfixturevalue("postgres_schemas").new_url()
    async with running_trio(write_config(tmp_path, data_store)) as trio:
        yield trio


async def test_every_acknowledged_feedback_is_stored(backend_trio: Trio) -> None:
    before = backend_trio.store.count_feedback()
    acknowledged = 0
    writing = True
    reads = 0

    async def writer(index: int) -> None:
        nonlocal acknowledged
        for start in range(0, ROWS_PER_WRITER, ROWS_PER_CALL):
            # Distinct (type, user, item) keys, so that no row replaces another.
            rows = [
                common_pb2.Feedback(type="like", user_id=f"w{index}-{row}", item_id=ITEMS[row % len(ITEMS)])
                for row in range(start, start + ROWS_PER_CALL)
            ]
            reply = await backend_trio.stub.InsertFeedback(
                gateway_pb2.InsertFeedbackRequest(feedback=rows), timeout=30
            )
            acknowledged += reply.written

    async def reader(index: int) -> None:
        nonlocal reads
        while writing:
            reply = await backend_trio.stub.Recommend(
                gateway_pb2.RecommendRequest(user_id=f"w{index}-0", n=3), timeout=30
            )
            assert reply.items
            reads += 1

    readers = [asyncio.create_task(reader(index)) for index in range(READERS)]
    try:
        await asyncio.gather(*(writer(index) for index in range(WRITERS)))
    finally:
        writing = False
        await asyncio.gather(*readers, return_exceptions=False)

    assert acknowledged == WRITERS * ROWS_PER_WRITER
    assert backend_trio.store.count_feedback() == before + WRITERS * ROWS_PER_WRITER
    assert reads > 0


async def test_written_feedback_is_seen_by_the_next_read(backend_trio: Trio) -> None:
    request = gateway_pb2.InsertFeedbackRequest(
        feedback=[common_pb2.Feedback(type="read", user_id="u1", item_id=item) for item in ("i1", "i2")]
    )

    await backend_trio.stub.InsertFeedback(request, timeout=10)
    reply = await backend_trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=2), timeout=10)

    assert {"i1", "i2"}.isdisjoint(item.item_id for item in reply.items)
