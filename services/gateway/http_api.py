"""GET /api/recommend/{user_id}?n=&offset= on the gateway's HTTP port, for callers without gRPC."""

from __future__ import annotations

import time

from aiohttp import web

from recmesh.grpc_errors import InvalidArgument, status_for
from recmesh.storage import StoreUnavailable
from services.gateway.flow_executor import FlowExecutor
from services.gateway.recommend_servicer import PlanCache

HTTP_STATUS = {"INVALID_ARGUMENT": 400, "NOT_FOUND": 404, "UNAVAILABLE": 503}


def _int_param(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "0")
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name}: must be an integer, got {raw!r}") from exc


def recommend_routes(executor: FlowExecutor, plans: PlanCache, timeout_seconds: float) -> list[web.RouteDef]:
    async def recommend(request: web.Request) -> web.Response:
        try:
            result = await executor.recommend(
                plans.current(),
                request.match_info["user_id"],
                _int_param(request, "n"),
                _int_param(request, "offset"),
                request.query.getall("category", []),
                time.monotonic() + timeout_seconds,
            )
        except (InvalidArgument, StoreUnavailable) as exc:
            code = status_for(exc)
            status = HTTP_STATUS.get(code.name if code else "", 500)
            return web.json_response({"error": str(exc)}, status=status)
        return web.json_response(
            {
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
        )

    return [web.get("/api/recommend/{user_id}", recommend)]
