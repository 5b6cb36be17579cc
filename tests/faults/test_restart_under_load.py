"""A service stopped and started again on the same port while requests keep coming."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from recmesh.serving import ServiceRunner
from recmesh.v1 import gateway_pb2
from tests.conftest import Trio

from .conftest import start_candidate, start_ranker

DEADLINE_SECONDS = 2.0
# Scheduling slack on a loaded 2-core machine; a hung call would take the whole deadline and more.
DEADLINE_SLACK_SECONDS = 0.5
WORKERS = 4
MAX_REQUESTS = 400
MAX_LOAD_SECONDS = 15.0
RECOVERY_SECONDS = 10.0


@dataclass
class LoadResult:
    durations: list[float] = field(default_factory=list)
    failures: list[grpc.StatusCode] = field(default_factory=list)
    fallback_stages: list[str] = field(default_factory=list)


async def load_while(trio: Trio, restart: Callable[[], Awaitable[None]]) -> LoadResult:
    """Send Recommend calls from WORKERS tasks while restart runs; stop at MAX_REQUESTS or the time limit."""
    result = LoadResult()
    done = asyncio.Event()
    sent = 0
    stop_at = time.monotonic() + MAX_LOAD_SECONDS

    async def worker(index: int) -> None:
        nonlocal sent
        while not done.is_set() and sent < MAX_REQUESTS and time.monotonic() < stop_at:
            sent += 1
            # A new user each time, so that no reply comes from the gateway's cache of ranked lists.
            request = gateway_pb2.RecommendRequest(user_id=f"visitor-{index}-{sent}", n=2)
            started = time.perf_counter()
            try:
                reply = await trio.stub.Recommend(request, timeout=DEADLINE_SECONDS)
            except grpc.aio.AioRpcError as exc:
                result.failures.append(exc.code())
            else:
                result.fallback_stages.extend(note.stage for note in reply.fallbacks)
            result.durations.append(time.perf_counter() - started)

    workers = [asyncio.create_task(worker(index)) for index in range(WORKERS)]
    await asyncio.sleep(0.2)
    await restart()
    await asyncio.sleep(0.5)
    done.set()
    await asyncio.gather(*workers)
    return result


async def first_reply_without_fallback(trio: Trio) -> gateway_pb2.RecommendResponse:
    """Call Recommend until a reply needs no fallback, for at most RECOVERY_SECONDS."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        request = gateway_pb2.RecommendRequest(user_id=f"after-restart-{attempt}", n=2)
        reply = await trio.stub.Recommend(request, timeout=DEADLINE_SECONDS)
        if not reply.fallbacks or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.1)


async def restart_runner(
    old: ServiceRunner, start: Callable[[int], Awaitable[ServiceRunner]]
) -> ServiceRunner:
    port = old.grpc_port
    await old.stop(grace=0.2)
    await asyncio.sleep(0.3)
    return await start(port)


async def test_candidate_restart_keeps_answers_within_deadline(trio: Trio) -> None:
    restarted: list[ServiceRunner] = []

    async def restart() -> None:
        restarted.append(
            await restart_runner(trio.candidate, lambda port: start_candidate(trio.config, trio.store, port))
        )

    try:
        result = await load_while(trio, restart)
        recovered = await first_reply_without_fallback(trio)
    finally:
        # The trio fixture stops the runners it started; a server left running would be collected
        # after its event loop closed, and grpc's finalizer then blocks the test process.
        for runner in restarted:
            await runner.stop(grace=0.5)

    assert result.durations
    assert max(result.durations) < DEADLINE_SECONDS + DEADLINE_SLACK_SECONDS
    # The gateway uses the store's recommenders while the candidate service is away, so no call fails.
    assert result.failures == []
    # "fallback" when the candidate service went away between the candidate call and the fill call.
    assert set(result.fallback_stages) <= {"candidates", "fallback"}
    assert list(recovered.fallbacks) == []
    assert len(recovered.items) == 2


async def test_ranker_restart_keeps_answers_within_deadline(llm_trio: Trio) -> None:
    async def restart() -> None:
        llm_trio.ranker = await restart_runner(
            llm_trio.ranker, lambda port: start_ranker(llm_trio.config, llm_trio.store, port)
        )

    result = await load_while(llm_trio, restart)
    recovered = await first_reply_without_fallback(llm_trio)

    assert result.durations
    assert max(result.durations) < DEADLINE_SECONDS + DEADLINE_SLACK_SECONDS
    assert result.failures == []
    assert set(result.fallback_stages) <= {"ranker"}
    assert list(recovered.fallbacks) == []
    assert recovered.ranker_used == "llm"
