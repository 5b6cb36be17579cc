from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from services.ranker.minilm_embedder import TOKENIZER_FILE, MiniLmEmbedder, ensure_tokenizer
from services.ranker.rerank_server import MAX_DOCUMENTS, build_app, run_rerank_server

SPACE_QUERY = "a science fiction movie about a war between spaceships"
SPACE_DOCUMENT = "Star Wars (1977): rebels fight the Empire's fleet in outer space"
COOKING_DOCUMENT = "Knead the dough, let it rise overnight and bake the bread at 230 degrees"


@pytest.fixture
async def rerank_url(embedder: MiniLmEmbedder) -> AsyncIterator[str]:
    executor = ThreadPoolExecutor(max_workers=2)
    runner = web.AppRunner(build_app(embedder, executor))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()
    executor.shutdown()


async def post(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(f"{url}/v1/rerank", json=body) as reply:
        return reply.status, await reply.json()


async def test_relevant_document_scores_above_irrelevant(rerank_url: str) -> None:
    status, reply = await post(
        rerank_url, {"query": SPACE_QUERY, "documents": [COOKING_DOCUMENT, SPACE_DOCUMENT]}
    )

    assert status == 200
    assert [result["index"] for result in reply["results"]] == [1, 0]
    assert reply["results"][0]["relevance_score"] > reply["results"][1]["relevance_score"] + 0.2
    assert reply["model"] == "all-MiniLM-L6-v2"
    assert reply["usage"]["total_tokens"] > 10


async def test_top_n_limits_results(rerank_url: str) -> None:
    documents = [COOKING_DOCUMENT, SPACE_DOCUMENT, "Toy Story (1995): toys come alive"]

    status, reply = await post(rerank_url, {"query": SPACE_QUERY, "documents": documents, "top_n": 1})

    assert status == 200
    assert len(reply["results"]) == 1
    assert reply["results"][0]["index"] == 1


async def test_return_documents_controls_document_text(rerank_url: str) -> None:
    body = {"query": SPACE_QUERY, "documents": [SPACE_DOCUMENT]}

    _, with_documents = await post(rerank_url, body)
    _, without_documents = await post(rerank_url, {**body, "return_documents": False})

    assert with_documents["results"][0]["document"] == {"text": SPACE_DOCUMENT}
    assert "document" not in without_documents["results"][0]


async def test_scores_match_model_cosine(rerank_url: str, embedder: MiniLmEmbedder) -> None:
    expected, _ = embedder.score(SPACE_QUERY, [SPACE_DOCUMENT, COOKING_DOCUMENT])

    _, reply = await post(rerank_url, {"query": SPACE_QUERY, "documents": [SPACE_DOCUMENT, COOKING_DOCUMENT]})

    by_index = {result["index"]: result["relevance_score"] for result in reply["results"]}
    assert by_index[0] == pytest.approx(expected[0], abs=1e-5)
    assert by_index[1] == pytest.approx(expected[1], abs=1e-5)


def test_batching_and_truncation_keep_scores(embedder: MiniLmEmbedder) -> None:
    long_document = "space battle " * 400
    documents = [SPACE_DOCUMENT] * 40 + [long_document]

    scores, _ = embedder.score(SPACE_QUERY, documents)
    alone, _ = embedder.score(SPACE_QUERY, [SPACE_DOCUMENT])

    assert len(scores) == 41
    assert scores[0] == pytest.approx(alone[0], abs=1e-4)
    assert scores[39] == pytest.approx(alone[0], abs=1e-4)
    assert -1.0 <= scores[40] <= 1.0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"documents": ["a"]}, "query"),
        ({"query": "", "documents": ["a"]}, "query"),
        ({"query": 5, "documents": ["a"]}, "query"),
        ({"query": "q"}, "documents must be a list of strings"),
        ({"query": "q", "documents": "a"}, "documents must be a list of strings"),
        ({"query": "q", "documents": ["a", 1]}, "documents must be a list of strings"),
        ({"query": "q", "documents": [{"text": "a"}]}, "documents must be a list of strings"),
        ({"query": "q", "documents": []}, "must not be empty"),
        ({"query": "q", "documents": ["a"] * (MAX_DOCUMENTS + 1)}, "too many documents"),
        ({"query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
        ({"query": "q", "documents": ["a"], "top_n": -3}, "top_n"),
        ({"query": "q", "documents": ["a"], "top_n": "2"}, "top_n"),
        ({"query": "q", "documents": ["a"], "top_n": True}, "top_n"),
        ({"query": "q", "documents": ["a"], "return_documents": "yes"}, "return_documents"),
        (["q", "a"], "JSON object"),
    ],
)
async def test_invalid_request_is_400_with_reason(rerank_url: str, body: Any, reason: str) -> None:
    status, reply = await post(rerank_url, body)

    assert status == 400
    assert reason in reply["error"]


async def test_non_json_body_is_400(rerank_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{rerank_url}/v1/rerank", data=b"{query") as reply,
    ):
        status, body = reply.status, await reply.json()

    assert status == 400
    assert "not valid JSON" in body["error"]


async def test_metrics_and_healthz_are_served(rerank_url: str) -> None:
    await post(rerank_url, {"query": SPACE_QUERY, "documents": [SPACE_DOCUMENT]})

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{rerank_url}/metrics") as reply:
            metrics = await reply.text()
        async with session.get(f"{rerank_url}/healthz") as reply:
            health = await reply.json()

    assert 'recmesh_rerank_server_requests_total{code="200"}' in metrics
    assert "recmesh_rerank_server_documents_total" in metrics
    assert health["status"] == "ok"


async def test_run_rerank_server_reports_port_and_stops(model_dir: Path) -> None:
    bound = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run_rerank_server("127.0.0.1", 0, model_dir, ready=bound.set_result))

    port = await asyncio.wait_for(bound, timeout=60)
    status, reply = await post(
        f"http://127.0.0.1:{port}", {"query": SPACE_QUERY, "documents": [SPACE_DOCUMENT]}
    )
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server

    assert status == 200
    assert reply["results"][0]["index"] == 0
    with pytest.raises(aiohttp.ClientConnectorError):
        await post(f"http://127.0.0.1:{port}", {"query": "q", "documents": ["a"]})


def test_ensure_tokenizer_replaces_corrupt_cache(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / TOKENIZER_FILE).write_text("{}")

    path = ensure_tokenizer(tmp_path)

    assert path.read_bytes() == (model_dir / TOKENIZER_FILE).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOKENIZER_FILE]
