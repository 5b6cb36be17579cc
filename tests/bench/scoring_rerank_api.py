"""A rerank API on 127.0.0.1, in a thread of its own, that scores each document by the number after "s=".

It runs outside the test's event loop because `recmesh bench-llm` starts its own loop with asyncio.run.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from aiohttp import web

SCORE = re.compile(r"s=(-?[0-9.]+)")
TOKENS_PER_DOCUMENT = 3


class ScoringRerankApi:
    def __init__(self, fail_after: int | None = None) -> None:
        # Requests answered with HTTP 200 before every later one gets HTTP 500; None never fails.
        self.fail_after = fail_after
        self.requests: list[dict[str, Any]] = []
        self.answered = 0
        self.url = ""
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the scoring rerank API did not start within 10 s")
        return self.url

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def queries(self) -> list[str]:
        with self._lock:
            return [payload["query"] for payload in self.requests]

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/rerank", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1/rerank"
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    async def _handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self.requests.append(payload)
            failing = self.fail_after is not None and self.answered >= self.fail_after
            if not failing:
                self.answered += 1
        if failing:
            return web.json_response({"error": "failing on purpose"}, status=500)

        scores = [_score(document) for document in payload["documents"]]
        best_first = sorted(range(len(scores)), key=lambda index: -scores[index])
        results = [{"index": index, "relevance_score": scores[index]} for index in best_first]
        usage = {"total_tokens": TOKENS_PER_DOCUMENT * len(scores)}
        return web.json_response({"model": payload["model"], "results": results, "usage": usage})


def _score(document: str) -> float:
    found = SCORE.search(document)
    return float(found.group(1)) if found else 0.0
