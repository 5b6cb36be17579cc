"""`recmesh serve candidate|ranker|gateway|reranker|all`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from recmesh.config import Config, load_config
from recmesh.logs import configure_logging
from recmesh.serving import ServiceRunner, ServiceSpec
from recmesh.storage import Store, StoreError, open_store

log = logging.getLogger(__name__)

SERVICES = ("candidate", "ranker", "gateway", "reranker")
# Services `serve all` starts, in start order: the gateway last, so that it finds the others up.
ALL_SERVICES = ("reranker", "candidate", "ranker", "gateway")
START_TIMEOUT_SECONDS = 120.0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run a service until SIGTERM or Ctrl-C")
    parser.add_argument("service", choices=(*SERVICES, "all"), help="the service to run, or all of them")
    parser.add_argument(
        "--grpc-port", type=int, help="gRPC port (default from the config; 0 picks a free port)"
    )
    parser.add_argument(
        "--http-port", type=int, help="HTTP port for /metrics and /healthz (0 picks a free port)"
    )
    parser.add_argument(
        "--sample-users",
        default="",
        help="with `all`: comma-separated user ids to print recommendations for once everything serves",
    )
    parser.set_defaults(handler=run)


def build_spec(service: str, config: Config, store: Store) -> ServiceSpec:
    # Each service imports only its own package, so that a process exports its own metrics and no
    # empty families of the others (the ranker's reranker metrics, say).
    if service == "candidate":
        from services.candidate.app import build_candidate_service

        return build_candidate_service(config, store)
    if service == "ranker":
        from services.ranker.app import build_ranker_service

        return build_ranker_service(config, store)
    from services.gateway.app import build_gateway_service

    return build_gateway_service(config, store)


async def serve_one(service: str, config: Config, grpc_port: int | None, http_port: int | None) -> None:
    store = open_store(config.data_store)
    try:
        # The PostgreSQL store opens without a connection and keeps retrying in the background, so
        # read once to fail at start, rather than serve UNAVAILABLE from a store that was never there.
        await asyncio.to_thread(store.live_flow_version)
    except StoreError:
        store.close()
        raise
    ports = getattr(config.server, service)
    runner = ServiceRunner(
        build_spec(service, config, store),
        host=config.server.host,
        grpc_port=ports.grpc_port if grpc_port is None else grpc_port,
        http_port=ports.http_port if http_port is None else http_port,
        grace_seconds=config.server.grace_seconds,
        max_message_bytes=config.server.max_message_bytes,
    )
    try:
        await runner.run_until_signal()
    finally:
        store.close()


async def serve_reranker(config: Config, http_port: int | None) -> None:
    """Run the local rerank server until SIGTERM or SIGINT."""
    # Imported here because onnxruntime takes a while to load and only this command needs it.
    from services.ranker.minilm_embedder import ModelFileError
    from services.ranker.rerank_server import run_rerank_server

    port = config.server.reranker_http_port if http_port is None else http_port
    task = asyncio.create_task(
        run_rerank_server(config.server.host, port, Path(config.server.reranker_model_dir))
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    except ModelFileError as exc:
        log.error("cannot start the rerank server: %s", exc)
        raise SystemExit(1) from exc


def wait_until_healthy(url: str, deadline: float, process: subprocess.Popen) -> None:
    """Poll an HTTP /healthz URL until it returns 200."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with code {process.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not respond within {START_TIMEOUT_SECONDS:.0f}s")


def wait_until_serving(address: str, deadline: float, process: subprocess.Popen) -> None:
    """Poll the standard health service at address until it reports SERVING; raise RuntimeError when
    the process exits first or the deadline (time.monotonic) passes."""
    started = time.monotonic()
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the process serving {address} exited with code {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{address} did not report SERVING within {time.monotonic() - started:.0f}s")


def serve_all(args: argparse.Namespace, config: Config) -> int:
    """Start each service in its own process, print the sample recommendations, then wait for a signal."""
    base = [sys.executable, "-m", "recmesh.cli"]
    if args.config:
        base += ["--config", args.config]
    processes: dict[str, subprocess.Popen] = {}
    stop = {"requested": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        for service in ALL_SERVICES:
            # New process groups, so Ctrl-C reaches only this process, which then stops each child in turn.
            processes[service] = subprocess.Popen([*base, "serve", service], start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            if service == "reranker":
                url = f"http://{config.server.host}:{config.server.reranker_http_port}"
                wait_until_healthy(f"{url}/healthz", deadline, processes[service])
                print(f"reranker serving on {url}/v1/rerank", flush=True)
                continue
            wait_until_serving(config.server.address(service), deadline, processes[service])
            print(f"{service} serving on {config.server.address(service)}", flush=True)
        for user_id in filter(None, args.sample_users.split(",")):
            subprocess.run([*base, "recommend", user_id], check=False)
        print("recmesh is serving; press Ctrl-C to stop.", flush=True)
        while not stop["requested"]:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if "reranker" in exited:
                # The rerank server is optional: rankers that use it fall back without it.
                print(
                    "recmesh: the rerank server exited; the other services keep serving and the LLM "
                    "ranker falls back until it is back (`recmesh serve reranker`)",
                    file=sys.stderr,
                )
                del processes["reranker"]
                exited.remove("reranker")
            if exited:
                print(f"recmesh: {', '.join(exited)} exited; stopping the others", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"recmesh serve all: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(list(processes.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=config.server.grace_seconds + 5)
            except subprocess.TimeoutExpired:
                process.kill()


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.service == "all":
        return serve_all(args, config)
    configure_logging(args.service)
    try:
        if args.service == "reranker":
            asyncio.run(serve_reranker(config, args.http_port))
        else:
            asyncio.run(serve_one(args.service, config, args.grpc_port, args.http_port))
    except StoreError as exc:
        # The message names the store without its password; one line, because drivers wrap theirs.
        log.error("cannot start %s: the store is unavailable: %s", args.service, " ".join(str(exc).split()))
        return 1
    except OSError as exc:
        log.error("cannot start %s: %s", args.service, exc)
        return 1
    return 0
