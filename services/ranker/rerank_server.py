"""The local rerank server: a Jina-compatible ``POST /v1/rerank`` scored by MiniLM cosine similarity.

Request: ``{"query": str, "documents": [str, ...], "top_n": int?, "return_documents": bool?, "model": str?}``.
Reply: ``{"model", "results": [{"index", "relevance_score", "document"?: {"text"}}], "usage": {"total_tokens"}}``,
best first. ``return_documents`` defaults to true, as in Jina's API. An invalid
request gets HTTP 400 with ``{"error": reason}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from recmesh.metrics import LATENCY_BUCKETS
from services.ranker.minilm_embedder import MODEL_NAME, MiniLmEmbedder, ensure_tokenizer

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 1000
MAX_BODY_BYTES = 16 * 1024 * 1024
# Inference runs in these threads so the event loop keeps serving; onnxruntime releases the GIL.
INFERENCE_THREADS = 2

SERVER_REQUESTS = Counter(
    "recmesh_rerank_server_requests_total",
    "Rerank requests the local rerank server answered, by HTTP status code.",
    ["code"],
)
SERVER_DOCUMENTS = Counter(
    "recmesh_rerank_server_documents_total",
    "Documents the local rerank server scored.",
)
SERVER_LATENCY = Histogram(
    "recmesh_rerank_server_request_duration_seconds",
    "Time the local rerank server took to answer one rerank request, including inference.",
    buckets=LATENCY_BUCKETS,
)

EMBEDDER_KEY = web.AppKey("embedder", MiniLmEmbedder)
EXECUTOR_KEY = web.AppKey("executor", ThreadPoolExecutor)


class InvalidRequest(ValueError):
    """A rerank request that the server rejects with HTTP 400."""


def parse_rerank_request(body: Any) -> tuple[str, list[str], int, bool]:
    """Return (query, documents, top_n, return_documents); raise InvalidRequest naming the bad field."""
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("query is missing or not a non-empty string")
    documents = body.get("documents")
    if not isinstance(documents, list) or not all(isinstance(document, str) for document in documents):
        raise InvalidRequest("documents must be a list of strings")
    if not documents:
        raise InvalidRequest("documents must not be empty")
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidRequest(f"too many documents: {len(documents)}, the maximum is {MAX_DOCUMENTS}")

    top_n = body.get("top_n")
    if top_n is None:
        top_n = len(documents)
    elif isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InvalidRequest(f"top_n must be a positive integer, got {json.dumps(top_n)[:40]}")
    return_documents = body.get("return_documents", True)
    if not isinstance(return_documents, bool):
        raise InvalidRequest("return_documents must be true or false")
    return query, documents, min(top_n, len(documents)), return_documents


def _error(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


async def handle_rerank(request: web.Request) -> web.Response:
    started = time.perf_counter()
    response = await _rerank(request)
    SERVER_REQUESTS.labels(str(response.status)).inc()
    SERVER_LATENCY.observe(time.perf_counter() - started)
    return response


async def _rerank(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return _error("request body is not valid JSON")
    except UnicodeDecodeError:
        return _error("request body is not UTF-8")
    try:
        query, documents, top_n, return_documents = parse_rerank_request(body)
    except InvalidRequest as exc:
        log.info("rejected rerank request: %s", exc)
        return _error(str(exc))

    embedder = request.app[EMBEDDER_KEY]
    loop = asyncio.get_running_loop()
    scores, tokens = await loop.run_in_executor(request.app[EXECUTOR_KEY], embedder.score, query, documents)
    SERVER_DOCUMENTS.inc(len(documents))

    best_first = sorted(range(len(documents)), key=lambda index: -scores[index])[:top_n]
    results = []
    for index in best_first:
        result: dict[str, Any] = {"index": index, "relevance_score": scores[index]}
        if return_documents:
            result["document"] = {"text": documents[index]}
        results.append(result)
    return web.json_response({"model": MODEL_NAME, "results": results, "usage": {"total_tokens": tokens}})


async def handle_metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "model": MODEL_NAME})


def build_app(embedder: MiniLmEmbedder, executor: ThreadPoolExecutor) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[EMBEDDER_KEY] = embedder
    app[EXECUTOR_KEY] = executor
    app.router.add_post("/v1/rerank", handle_rerank)
    app.router.add_get("/metrics", handle_metrics)
    app.router.add_get("/healthz", handle_healthz)
    return app


async def run_rerank_server(
    host: str, port: int, model_dir: Path, ready: Callable[[int], None] | None = None
) -> None:
    """Serve the rerank API on host:port until cancelled; port 0 picks a free port.

    Fetches the tokenizer into model_dir on first use, loads the model, then calls
    ready with the bound port. Cancelling the task (a SIGTERM handler should do so)
    stops the server and the inference threads.
    """
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=INFERENCE_THREADS, thread_name_prefix="rerank")
    runner: web.AppRunner | None = None
    try:
        tokenizer_path = await loop.run_in_executor(executor, ensure_tokenizer, model_dir)
        embedder = await loop.run_in_executor(executor, MiniLmEmbedder, tokenizer_path)
        runner = web.AppRunner(build_app(embedder, executor), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        log.info("rerank server listening on http://%s:%d/v1/rerank (model %s)", host, bound_port, MODEL_NAME)
        if ready is not None:
            ready(bound_port)
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        executor.shutdown(wait=False, cancel_futures=True)
        log.info("rerank server stopped")
