"""GetCandidates latency for five recommenders × 100 candidates against `latest` alone, in one run.

Needs MovieLens imported and trained (`make run` does both). Run from the repository root:
  .venv/bin/python -m benchmarks.candidates_latency [--config FILE] [--users 300]
The candidate service runs in its own process, as in production; the client calls it over loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

import grpc
import numpy as np

from benchmarks.load_recommend import processes, store_users
from recmesh.commands.serve import wait_until_serving
from recmesh.config import load_config
from recmesh.flow.default import flow_from_config
from recmesh.serving import free_loopback_port
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc, flow_pb2

FIVE_SOURCES = """
[[recommend.sources]]
name = "latest"
type = "latest"
[[recommend.sources]]
name = "popular"
type = "non_personalized"
[[recommend.sources]]
name = "collaborative"
type = "collaborative"
[[recommend.sources]]
name = "item_to_item"
type = "item_to_item"
[[recommend.sources]]
name = "user_to_user"
type = "user_to_user"
"""


def source_nodes(config_path: Path) -> list[flow_pb2.Node]:
    graph = flow_from_config(load_config(config_path).recommend)
    return [
        node
        for node in graph.nodes
        if node.WhichOneof("config") not in ("data_source", "ranker", "fallback", "recommend")
    ]


async def measure(address: str, nodes: list[flow_pb2.Node], users: list[str]) -> dict[str, float]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = candidate_pb2_grpc.CandidateServiceStub(channel)
        request = candidate_pb2.GetCandidatesRequest(sources=nodes, n=500)
        for user_id in users[:20]:
            request.user_id = user_id
            await stub.GetCandidates(request, timeout=10)
        latencies = []
        for user_id in users:
            request.user_id = user_id
            started = time.perf_counter()
            reply = await stub.GetCandidates(request, timeout=10)
            latencies.append(time.perf_counter() - started)
            assert reply.candidates, f"no candidates for user {user_id}"
    values = np.array(latencies) * 1000
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "calls": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", help="recmesh config file whose store contains MovieLens and the trained models"
    )
    parser.add_argument("--users", type=int, default=300, help="users sampled from the store (default 300)")
    parser.add_argument("--out", default="bench-out/candidates.json", help="JSON results file")
    args = parser.parse_args()

    data_store, users = store_users(args.config)
    users = random.Random(11).sample(users, min(args.users, len(users)))

    port, http_port = free_loopback_port(), free_loopback_port()
    config_path = Path("bench-out/candidates.toml")
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        f'[database]\ndata_store = "{data_store}"\n[server.candidate]\ngrpc_port = {port}\nhttp_port = {http_port}\n'
        + FIVE_SOURCES
    )
    five = source_nodes(config_path)
    latest = [node for node in five if node.id == "latest"]
    command = [sys.executable, "-m", "recmesh.cli", "--config", str(config_path), "serve", "candidate"]
    with processes([command]) as started:
        address = f"127.0.0.1:{port}"
        wait_until_serving(address, time.monotonic() + 60, started[0])
        results = {
            "latest_only": asyncio.run(measure(address, latest, users)),
            "five_sources": asyncio.run(measure(address, five, users)),
        }
    ratio = results["five_sources"]["p50_ms"] / results["latest_only"]["p50_ms"]
    print(f"{'case':<14} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for case, result in results.items():
        print(f"{case:<14} {result['calls']:>6} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f}")
    print(f"five sources / latest alone, p50: {ratio:.2f}x")
    Path(args.out).write_text(json.dumps({"cases": results, "p50_ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
