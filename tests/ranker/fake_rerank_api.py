"""A rerank API on 127.0.0.1 whose replies each test chooses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


class FakeRerankApi:
    """A real HTTP server on 127.0.0.1 whose reply the test chooses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.handler: Handler = reverse_scores
        self.runner: web.AppRunner | None = None
        self.url = ""
        # Set at teardown so that handlers which hang on purpose end and the server stops at once.
        self.released = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        self.requests.append((dict(request.headers), payload))
        return await self.handler(request, payload)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/rerank", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1/rerank"


async def reverse_scores(request: web.Request, payload: dict[str, Any]) -> web.Response:
    """Score the last document highest, as a well-behaved API would return it (best first)."""
    count = len(payload["documents"])
    results = [{"index": i, "relevance_score": i / count} for i in reversed(range(count))]
    return web.json_response({"model": payload["model"], "results": results, "usage": {"total_tokens": 7}})


@pytest.fixture
async def api() -> AsyncIterator[FakeRerankApi]:
    server = FakeRerankApi()
    await server.start()
    yield server
    server.released.set()
    assert server.runner is not None
    await server.runner.cleanup()


def json_reply(body: Any, status: int = 200) -> Handler:
    async def handler(request: web.Request, payload: dict[str, Any]) -> web.Response:
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    return handler
