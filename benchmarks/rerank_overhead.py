"""Measure the LLM scorer's own overhead and the local rerank server's throughput.

(a) Overhead: the LLM scorer's latency per call minus the processing time of a
    rerank server that answers after a fixed delay, so what remains is template
    rendering, JSON, HTTP on loopback, parsing and the breaker.
(b) Throughput: documents per second through the local rerank server over HTTP
    against the raw ONNX model called directly in the same process.

Run: .venv/bin/python benchmarks/rerank_overhead.py [--calls 300] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from recmesh.config import RerankerApiSettings
from recmesh.entities import Feedback, Item
from recmesh.user_context import FeedbackTypes, build_user_context
from recmesh.v1 import flow_pb2
from services.ranker.llm_scorer import LlmScorerFactory, PromptInputs
from services.ranker.minilm_embedder import MiniLmEmbedder, ensure_tokenizer
from services.ranker.rerank_server import build_app
from services.ranker.scorer import Candidate

GENRES = ("Action", "Comedy", "Drama", "Sci-Fi", "Thriller", "Romance", "Animation", "War")
QUERY_TEMPLATE = (
    "A viewer who enjoyed these movies: {% for f in feedback %}{{ f.item.comment }} "
    '[{{ f.item.categories | join(", ") }}]{% if not loop.last %}; {% endif %}{% endfor %}'
)
DOCUMENT_TEMPLATE = '{{ item.comment }} [{{ item.categories | join(", ") }}]'


def movie(index: int) -> Item:
    genres = (GENRES[index % len(GENRES)], GENRES[(index * 3 + 1) % len(GENRES)])
    return Item(str(index), genres, comment=f"Movie number {index} ({1950 + index % 50})")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/v1/rerank"


async def measure_overhead(calls: int, candidates: int, delay_seconds: float) -> dict[str, Any]:
    processing: list[float] = []

    async def delayed_rerank(request: web.Request) -> web.Response:
        started = time.perf_counter()
        payload = await request.json()
        await asyncio.sleep(delay_seconds)
        count = len(payload["documents"])
        results = [{"index": i, "relevance_score": 1 - i / count} for i in range(count)]
        reply = web.json_response({"results": results, "usage": {"total_tokens": count}})
        processing.append(time.perf_counter() - started)
        return reply

    app = web.Application()
    app.router.add_post("/v1/rerank", delayed_rerank)
    runner, url = await start(app)
    items = {str(i): movie(i) for i in range(candidates + 10)}
    feedback = [Feedback("like", "196", str(candidates + i), 1000 - i) for i in range(10)]
    context = build_user_context("196", feedback, FeedbackTypes(), now=2000)
    inputs = PromptInputs(items=items, positive_types=("like",), context_size=10)
    node = flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_LLM,
        query_template=QUERY_TEMPLATE,
        document_template=DOCUMENT_TEMPLATE,
        reranker_api=flow_pb2.RerankerApi(url=url, model="bench"),
        timeout_ms=2000,
        max_documents=100,
    )
    factory = LlmScorerFactory(RerankerApiSettings(url, "bench-token", "bench"))
    scorer = factory.scorer(node, flow_version=1)
    ranked = [Candidate(str(i), 0.0) for i in range(candidates)]

    overheads = []
    try:
        await scorer.score(context, ranked, inputs)  # opens the connection
        processing.clear()
        for _ in range(calls):
            started = time.perf_counter()
            await scorer.score(context, ranked, inputs)
            overheads.append(time.perf_counter() - started - processing[-1])
    finally:
        await factory.close()
        await runner.cleanup()
    return {
        "calls": calls,
        "candidates_per_call": candidates,
        "server_delay_ms": delay_seconds * 1000,
        "overhead_p50_ms": percentile(overheads, 0.50) * 1000,
        "overhead_p99_ms": percentile(overheads, 0.99) * 1000,
        "overhead_mean_ms": statistics.fmean(overheads) * 1000,
    }


async def measure_throughput(model_dir: Path, requests: int, documents_per_request: int) -> dict[str, Any]:
    embedder = MiniLmEmbedder(ensure_tokenizer(model_dir))
    documents = [
        f"{movie(i).comment} [{', '.join(movie(i).categories)}]" for i in range(documents_per_request)
    ]
    query = "A viewer who enjoyed: Star Wars (1977) [Sci-Fi, War]; Alien (1979) [Horror, Sci-Fi]"
    embedder.score(query, documents)  # warm-up

    started = time.perf_counter()
    for _ in range(requests):
        embedder.score(query, documents)
    raw_seconds = time.perf_counter() - started

    executor = ThreadPoolExecutor(max_workers=2)
    runner, url = await start(build_app(embedder, executor))
    body = {"query": query, "documents": documents, "return_documents": False}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=body) as reply:
                reply.raise_for_status()
            started = time.perf_counter()
            for _ in range(requests):
                async with session.post(url, json=body) as reply:
                    reply.raise_for_status()
                    await reply.read()
            server_seconds = time.perf_counter() - started
    finally:
        await runner.cleanup()
        executor.shutdown()

    total = requests * documents_per_request
    raw_rate = total / raw_seconds
    server_rate = total / server_seconds
    return {
        "requests": requests,
        "documents_per_request": documents_per_request,
        "raw_model_documents_per_second": raw_rate,
        "server_documents_per_second": server_rate,
        "server_to_raw_ratio": server_rate / raw_rate,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=300, help="scorer calls for the overhead part (default 300)"
    )
    parser.add_argument("--candidates", type=int, default=50, help="candidates per scorer call (default 50)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="fixed delay of the fake server, in ms")
    parser.add_argument("--requests", type=int, default=20, help="rerank requests for the throughput part")
    parser.add_argument("--documents", type=int, default=64, help="documents per rerank request (default 64)")
    parser.add_argument(
        "--model-dir", type=Path, default=Path("data/models"), help="tokenizer cache directory"
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/rerank_overhead.json"))
    args = parser.parse_args()

    overhead = await measure_overhead(min(args.calls, 5000), args.candidates, args.delay_ms / 1000)
    throughput = await measure_throughput(args.model_dir, min(args.requests, 500), args.documents)

    rows = [
        ("scorer overhead p50 (ms)", f"{overhead['overhead_p50_ms']:.2f}"),
        ("scorer overhead p99 (ms)", f"{overhead['overhead_p99_ms']:.2f}"),
        ("raw ONNX model (documents/s)", f"{throughput['raw_model_documents_per_second']:.0f}"),
        ("rerank server (documents/s)", f"{throughput['server_documents_per_second']:.0f}"),
        ("server / raw model", f"{throughput['server_to_raw_ratio']:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"overhead": overhead, "throughput": throughput}, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    asyncio.run(main())
