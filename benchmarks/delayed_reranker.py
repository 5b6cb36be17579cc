"""A rerank API that replies after a fixed delay, or always fails, so that recmesh's own overhead
shows. `python -m benchmarks.delayed_reranker PORT DELAY_MS [STATUS]` (STATUS 200 by default)."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


def make_app(delay_seconds: float, status: int) -> web.Application:
    async def rerank(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(delay_seconds)
        if status != 200:
            return web.json_response({"error": "failing on purpose"}, status=status)
        count = len(body["documents"])
        results = [{"index": i, "relevance_score": 1.0 - i / max(count, 1)} for i in range(count)]
        return web.json_response({"model": body.get("model", ""), "results": results})

    app = web.Application()
    app.router.add_post("/v1/rerank", rerank)
    return app


if __name__ == "__main__":
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    status = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    print("ready", flush=True)
    web.run_app(make_app(delay_ms / 1000, status), host="127.0.0.1", port=port, print=None)
