"""Recommend through the three services with a switch ranker set in the configuration file."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from recmesh.config import Config, load_config
from recmesh.v1 import gateway_pb2
from tests.conftest import TRIO_CONFIG, Trio
from tests.ranker.fake_rerank_api import FakeRerankApi, api

__all__ = ["api"]

# u1 likes one item and u2 two: u1 takes the llm branch, u2 the default fm branch, which fails
# because nothing was trained and hands over to its fallback, the merged order.
SWITCH_RANKER = """
[recommend.ranker]
type = "switch"
fallback = "none"
query_template = "{{% for f in feedback %}}{{{{ f.item.comment }}}} {{% endfor %}}"
document_template = "{{{{ item.comment }}}}"

[recommend.ranker.reranker_api]
url = "{url}"

[[recommend.ranker.branches]]
count = "positive"
max_count = 2
type = "llm"

[[recommend.ranker.branches]]
type = "fm"
"""


@pytest.fixture
def trio_config(tmp_path: Path, api: FakeRerankApi) -> Config:
    base = TRIO_CONFIG.format(db=tmp_path / "trio.db").replace('[recommend.ranker]\ntype = "none"\n', "")
    path = tmp_path / "recmesh.toml"
    path.write_text(base + SWITCH_RANKER.format(url=api.url))
    return load_config(path, env={})


async def test_few_likes_reranked_by_llm(trio: Trio, api: FakeRerankApi) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    assert reply.ranker_used == "llm"
    assert reply.branch.startswith("branches[0]")
    assert list(reply.fallbacks) == []
    # Merged order is i1, i2, i5, and the fake API scores the last document highest.
    assert [item.item_id for item in reply.items] == ["i5", "i2", "i1"]
    assert api.requests[0][1]["query"] == "Item 3 "


async def test_more_likes_take_fm_branch_and_its_fallback(trio: Trio, api: FakeRerankApi) -> None:
    reply = await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u2", n=3), timeout=5)

    assert reply.ranker_used == "none"
    assert reply.branch.endswith("(default)")
    assert [(f.stage, f.reason, f.used) for f in reply.fallbacks] == [("ranker", "unavailable", "none")]
    assert api.requests == []


async def test_http_api_names_branch(trio: Trio, api: FakeRerankApi) -> None:
    base = f"http://127.0.0.1:{trio.gateway.http_port}/api/recommend"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/u1?n=2") as response:
            few = await response.json()
        async with session.get(f"{base}/u2?n=2") as response:
            more = await response.json()

    assert few["ranker_used"] == "llm"
    assert few["branch"] == "branches[0] (positive < 2)"
    assert more["ranker_used"] == "none"
    assert more["branch"] == "branches[1] (default)"


async def test_ranker_metrics_count_branches(trio: Trio, api: FakeRerankApi) -> None:
    await trio.stub.Recommend(gateway_pb2.RecommendRequest(user_id="u1", n=3), timeout=5)

    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{trio.ranker.http_port}/metrics") as response:
            text = await response.text()

    assert 'recmesh_switch_branch_requests_total{branch="0",ranker="llm"}' in text
    assert 'recmesh_switch_history_feedbacks_bucket{count="positive",le="1.0"}' in text
