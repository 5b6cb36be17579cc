"""Load benchmark of Recommend over loopback gRPC, each case as a ratio to the gRPC limit.

Cases, all in one run on the same machine:
  limit        a no-op chain of three grpc.aio servers (benchmarks/noop_chain.py)
  fm           the trio on the imported MovieLens store with the FM ranker
  llm          the trio with the LLM ranker against a rerank API answering after --rerank-delay-ms
  llm-failing  the same with the rerank API failing every call (the fallback path)

Needs `recmesh import movielens-100k` and `recmesh train` first (`make run` does both).
Run: .venv/bin/python -m benchmarks.load_recommend [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np

from recmesh.commands.serve import wait_until_serving
from recmesh.config import load_config
from recmesh.serving import free_loopback_port
from recmesh.storage import open_store
from recmesh.v1 import gateway_pb2, gateway_pb2_grpc

CONFIG_TEMPLATE = """
[database]
data_store = "{data_store}"
[server]
grace_seconds = 2
[server.gateway]
grpc_port = {gateway}
http_port = {gateway_http}
[server.candidate]
grpc_port = {candidate}
http_port = {candidate_http}
[server.ranker]
grpc_port = {ranker}
http_port = {ranker_http}
[recommend]
timeout_ms = 5000
[[recommend.sources]]
name = "collaborative"
type = "collaborative"
[[recommend.sources]]
name = "item_to_item"
type = "item_to_item"
[[recommend.sources]]
name = "popular"
type = "non_personalized"
[[recommend.sources]]
name = "latest"
type = "latest"
[recommend.ranker]
type = "{ranker_type}"
fallback = "fm"
timeout_ms = 2000
breaker_failures = 0
[recommend.ranker.reranker_api]
url = "http://127.0.0.1:{rerank}/v1/rerank"
[recommend.fallback]
sources = ["popular", "latest"]
"""


@contextlib.contextmanager
def processes(commands: list[list[str]]) -> Iterator[list[subprocess.Popen]]:
    """Start the commands, yield their processes, and stop them with SIGTERM (SIGKILL after 10 s)."""
    started = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for command in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def drive(address: str, users: list[str], requests: int, concurrency: int, time_limit: float) -> dict:
    """Send up to `requests` Recommend calls from `concurrency` workers, stopping at time_limit."""
    latencies: list[float] = []
    errors = 0
    fallbacks = 0
    rng = random.Random(7)
    order = [rng.choice(users) for _ in range(requests)]
    next_index = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = gateway_pb2_grpc.RecommendServiceStub(channel)
        await stub.Recommend(gateway_pb2.RecommendRequest(user_id=users[0], n=10), timeout=10)
        started = time.perf_counter()
        stop_at = started + time_limit

        async def worker() -> None:
            nonlocal next_index, errors, fallbacks
            while next_index < len(order) and time.perf_counter() < stop_at:
                user_id = order[next_index]
                next_index += 1
                sent = time.perf_counter()
                try:
                    reply = await stub.Recommend(
                        gateway_pb2.RecommendRequest(user_id=user_id, n=10), timeout=10
                    )
                except grpc.aio.AioRpcError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                fallbacks += bool(reply.fallbacks)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    values = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "with_fallback": fallbacks,
        "seconds": elapsed,
        "throughput_rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(values, 50)) if len(values) else None,
        "p95_ms": float(np.percentile(values, 95)) if len(values) else None,
        "p99_ms": float(np.percentile(values, 99)) if len(values) else None,
    }


def run_limit(args: argparse.Namespace, users: list[str]) -> dict:
    ports = [free_loopback_port() for _ in range(3)]
    python = [sys.executable, "-m", "benchmarks.noop_chain"]
    addresses = [f"127.0.0.1:{p}" for p in ports]
    commands = [
        [*python, "candidate", str(ports[1])],
        [*python, "ranker", str(ports[2])],
        [*python, "gateway", str(ports[0]), addresses[1], addresses[2]],
    ]
    with processes(commands):
        time.sleep(1.0)
        return asyncio.run(drive(addresses[0], users, args.requests, args.concurrency, args.time_limit))


def run_trio(args: argparse.Namespace, users: list[str], data_store: str, case: str) -> dict:
    names = ["gateway", "gateway_http", "candidate", "candidate_http", "ranker", "ranker_http", "rerank"]
    ports = {name: free_loopback_port() for name in names}
    ranker_type = "fm" if case == "fm" else "llm"
    text = CONFIG_TEMPLATE.format(data_store=data_store, ranker_type=ranker_type, **ports)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
        file.write(text)
    base = [sys.executable, "-m", "recmesh.cli", "--config", file.name, "serve"]
    commands = [[*base, "candidate"], [*base, "ranker"], [*base, "gateway"]]
    if case.startswith("llm"):
        status = "500" if case == "llm-failing" else "200"
        delayed = [
            sys.executable,
            "-m",
            "benchmarks.delayed_reranker",
            str(ports["rerank"]),
            str(args.rerank_delay_ms),
            status,
        ]
        commands.insert(0, delayed)
    try:
        with processes(commands) as started:
            for service, process in zip(("candidate", "ranker", "gateway"), started[-3:], strict=True):
                wait_until_serving(f"127.0.0.1:{ports[service]}", time.monotonic() + 60, process)
            return asyncio.run(
                drive(
                    f"127.0.0.1:{ports['gateway']}", users, args.requests, args.concurrency, args.time_limit
                )
            )
    finally:
        os.unlink(file.name)


def store_users(config_path: str | None) -> tuple[str, list[str]]:
    """Return the config's store URL, made absolute for child processes, and the ids of its users."""
    data_store = load_config(config_path).data_store
    if data_store.startswith("sqlite:///") and not data_store.startswith("sqlite:////"):
        data_store = "sqlite:///" + str(Path(data_store.removeprefix("sqlite:///")).resolve())
    store = open_store(data_store)
    users = [user.id for user in store.iter_users()]
    store.close()
    if not users:
        sys.exit("the store has no users: run `recmesh import movielens-100k` and `recmesh train` first")
    return data_store, users


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", help="recmesh config file whose store contains MovieLens and the trained models"
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per case (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight (default 16)")
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds per case at most (default 60)"
    )
    parser.add_argument(
        "--rerank-delay-ms", type=float, default=20.0, help="delay of the fake rerank API (default 20)"
    )
    parser.add_argument("--cases", default="limit,fm,llm,llm-failing", help="comma-separated cases to run")
    parser.add_argument("--out", default="bench-out/load.json", help="JSON results file")
    args = parser.parse_args()

    data_store, users = store_users(args.config)

    results: dict[str, dict] = {}
    for case in args.cases.split(","):
        print(f"running {case} ...", file=sys.stderr, flush=True)
        results[case] = run_limit(args, users) if case == "limit" else run_trio(args, users, data_store, case)

    limit = results.get("limit", {}).get("throughput_rps")
    print(
        f"{'case':<12} {'req':>6} {'err':>4} {'fallback':>8} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    )
    for case, result in results.items():
        ratio = result["throughput_rps"] / limit if limit else float("nan")
        result["ratio_to_limit"] = ratio
        print(
            f"{case:<12} {result['requests']:>6} {result['errors']:>4} {result['with_fallback']:>8} "
            f"{result['throughput_rps']:>8.1f} {ratio:>6.2f} {result['p50_ms']:>7.2f} {result['p95_ms']:>7.2f} "
            f"{result['p99_ms']:>7.2f}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rerank_delay_ms": args.rerank_delay_ms,
    }
    out.write_text(json.dumps({"settings": settings, "cases": results}, indent=2))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
