"""GET /api/recommend/{user_id}?n=&offset= on the gateway's HTTP port, for callers without gRPC."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from recmesh import logs, metrics
from recmesh.grpc_errors import InvalidArgument, status_for
from recmesh.serving import REQUEST_ID_HEADER
from recmesh.storage import StoreUnavailable
from services.gateway.flow_executor import FlowExecutor, RecommendResult
from services.gateway.recommend_servicer import PlanCache

log = logging.getLogger(__name__)

HTTP_STATUS = {"INVALID_ARGUMENT": 400, "NOT_FOUND": 404, "UNAVAILABLE": 503}
ROUTE = "/api/recommend/{user_id}"


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "0")
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: must be an integer, got {raw!r}") from exc


def _reply_body(result: RecommendResult) -> dict[str, Any]:
    return {
        "request_id": logs.request_id.get(),
        "flow_version": result.flow_version,
        "ranker_used": result.ranker_used,
        "branch": result.branch,
        "fallbacks": [
            {"stage": n.stage, "reason": n.reason, "detail": n.detail, "used": n.used}
            for n in result.fallbacks
        ],
        "items": [
            {
                "item_id": item.item_id,
                "score": item.score,
                "sources": [{"source": s, "score": v} for s, v in item.sources],
                "title": item.item.comment if item.item else "",
                "categories": list(item.item.categories) if item.item else [],
            }
            for item in result.items
        ],
    }


def recommend_routes(executor: FlowExecutor, plans: PlanCache, timeout_seconds: float) -> list[web.RouteDef]:
    async def recommend(request: web.Request) -> web.Response:
        token = logs.request_id.set(request.headers.get(REQUEST_ID_HEADER) or logs.new_request_id())
        started = time.perf_counter()
        user_id = request.match_info["user_id"]
        try:
            result = await executor.recommend(
                plans.current(),
                user_id,
                _int_param(request, "n"),
                _int_param(request, "offset"),
                request.query.getall("category", []),
                time.monotonic() + timeout_seconds,
            )
        except (InvalidArgument, StoreUnavailable) as exc:
            code = status_for(exc)
            response = web.json_response(
                {"request_id": logs.request_id.get(), "error": str(exc)},
                status=HTTP_STATUS.get(code.name if code else "", 500),
            )
        else:
            log.info(
                "http recommend user=%s items=%d flow=%d ranker=%s fallbacks=%d",
                user_id[:64],
                len(result.items),
                result.flow_version,
                result.ranker_used,
                len(result.fallbacks),
            )
            response = web.json_response(_reply_body(result))
        response.headers[REQUEST_ID_HEADER] = logs.request_id.get()
        metrics.HTTP_LATENCY.labels("gateway", ROUTE).observe(time.perf_counter() - started)
        metrics.HTTP_REQUESTS.labels("gateway", ROUTE, str(response.status)).inc()
        logs.request_id.reset(token)
        return response

    return [web.get(ROUTE, recommend)]
