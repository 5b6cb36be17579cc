"""The grpc.aio server every service runs: health, reflection, metrics, /metrics and /healthz, and
graceful shutdown that lets calls in flight finish."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from recmesh import logs, metrics

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"


@dataclass
class ServiceSpec:
    """The parts one service adds to the common server."""

    name: str
    # Full protobuf service names, for health and reflection.
    service_names: list[str]
    register: Callable[[grpc.aio.Server], None]
    http_routes: list[web.RouteDef] = field(default_factory=list)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class _Undecodable:
    """Stands in for a request whose bytes do not parse, so the call can end in INVALID_ARGUMENT
    instead of the INTERNAL that grpc reports for a failed deserializer."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant(deserializer: Callable[[bytes], object] | None) -> Callable[[bytes], object] | None:
    if deserializer is None:
        return None

    def parse(data: bytes) -> object:
        try:
            return deserializer(data)
        except Exception as exc:  # protobuf raises DecodeError, and other errors for invalid UTF-8
            return _Undecodable(str(exc) or type(exc).__name__)

    return parse


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every unary call, and binds its request id for logging."""

    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        rpc = handler_call_details.method.rsplit("/", 1)[-1]
        incoming = dict(handler_call_details.invocation_metadata or ())
        behavior = handler.unary_unary
        service = self.service

        async def observed(request: object, context: grpc.aio.ServicerContext) -> object:
            token = logs.request_id.set(str(incoming.get(REQUEST_ID_HEADER) or logs.new_request_id()))
            metrics.GRPC_IN_FLIGHT.labels(service).inc()
            started = time.perf_counter()
            code = "OK"
            try:
                if isinstance(request, _Undecodable):
                    await context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"the {rpc} request does not parse as its protobuf message "
                        f"(a string field that is not valid UTF-8?): {request.reason}",
                    )
                return await behavior(request, context)
            except grpc.aio.AbortError:
                code = _code_name(context.code())
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception:
                code = "INTERNAL"
                log.exception("unhandled error in %s", rpc)
                raise
            finally:
                if code == "OK":
                    code = _code_name(context.code())
                metrics.GRPC_LATENCY.labels(service, rpc).observe(time.perf_counter() - started)
                metrics.GRPC_REQUESTS.labels(service, rpc, code).inc()
                metrics.GRPC_IN_FLIGHT.labels(service).dec()
                logs.request_id.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )


def _code_name(code: grpc.StatusCode | int | None) -> str:
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return str(code)


class ServiceRunner:
    """Runs one service: a grpc.aio server plus an aiohttp server for /metrics and /healthz."""

    def __init__(
        self,
        spec: ServiceSpec,
        host: str,
        grpc_port: int,
        http_port: int,
        grace_seconds: float = 10.0,
        max_message_bytes: int = 4 * 1024 * 1024,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.spec = spec
        self.host = host
        self.requested_ports = (grpc_port, http_port)
        self.grace_seconds = grace_seconds
        self.max_message_bytes = max_message_bytes
        self.registry = registry
        self.grpc_port = 0
        self.http_port = 0
        self.health = health_aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self._stopped = asyncio.Event()
        self._serving = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    async def start(self) -> None:
        options = [
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ]
        server = grpc.aio.server(interceptors=[MetricsInterceptor(self.spec.name)], options=options)
        self.spec.register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = [*self.spec.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        reflection.enable_server_reflection([*names, reflection.SERVICE_NAME], server)
        address = f"{self.host}:{self.requested_ports[0]}"
        try:
            self.grpc_port = server.add_insecure_port(address)
        except RuntimeError as exc:  # grpcio raises RuntimeError when the port cannot be bound
            raise OSError(f"cannot bind the gRPC port {address}: is another process using it?") from exc
        if self.grpc_port == 0:
            raise OSError(f"cannot bind the gRPC port {address}: is another process using it?")
        for hook in self.spec.on_start:
            await hook()
        await server.start()
        self._server = server
        await self._start_http()

        self._serving = True
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in self.spec.service_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        metrics.BUILD_INFO.labels(self.spec.name, _version()).set(1)
        log.info(
            "%s serving grpc=%s:%d http=%s:%d",
            self.spec.name,
            self.host,
            self.grpc_port,
            self.host,
            self.http_port,
        )

    async def _start_http(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_routes(self.spec.http_routes)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_ports[1])
        await site.start()
        self._http = runner
        self.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        if self._serving:
            return web.Response(text="ok\n")
        return web.Response(status=503, text="stopping\n")

    async def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, let calls in flight finish within the grace period, then close."""
        if self._server is None:
            return
        self._serving = False
        await self.health.enter_graceful_shutdown()
        await self._server.stop(self.grace_seconds if grace is None else grace)
        for hook in self.spec.on_stop:
            await hook()
        if self._http is not None:
            await self._http.cleanup()
        self._server = None
        self._stopped.set()
        log.info("%s stopped", self.spec.name)

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        await self.start()
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop_requested.set)
        await stop_requested.wait()
        log.info("%s received a stop signal; finishing calls in flight", self.spec.name)
        await self.stop()


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago, for a child process to bind.

    Another process may take it before the child binds it; servers in one process bind port 0 instead.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _version() -> str:
    try:
        return version("recmesh")
    except PackageNotFoundError:
        return "unknown"
