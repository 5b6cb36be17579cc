"""RecommendService: Recommend, and the validated writes of users, items and feedback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import grpc

from recmesh import convert
from recmesh.grpc_errors import InvalidArgument, NotFound, abort_on_error
from recmesh.logs import request_id
from recmesh.storage import Store
from recmesh.v1 import common_pb2, flow_pb2, gateway_pb2, gateway_pb2_grpc
from services.gateway import write_validation
from services.gateway.flow_executor import FlowExecutor, RecommendResult
from services.gateway.flow_plan import FlowPlan, plan_flow

log = logging.getLogger(__name__)

MAX_CATEGORIES = 100


class PlanCache:
    """The plan of the live flow, read again only when the flow version changes."""

    def __init__(self, live_flow: Callable[[], flow_pb2.FlowGraph]) -> None:
        self.live_flow = live_flow
        self._plan: FlowPlan | None = None
        self._graph: flow_pb2.FlowGraph | None = None

    def current(self) -> FlowPlan:
        graph = self.live_flow()
        if self._plan is None or graph is not self._graph:
            self._plan = plan_flow(graph)
            self._graph = graph
        return self._plan


def recommend_response(result: RecommendResult) -> gateway_pb2.RecommendResponse:
    response = gateway_pb2.RecommendResponse(
        flow_version=result.flow_version,
        ranker_used=result.ranker_used,
        request_id=request_id.get(),
        branch=result.branch,
    )
    for entry in result.items:
        item = response.items.add(item_id=entry.item_id, score=entry.score)
        for name, score in entry.sources:
            item.sources.add(source=name, score=score)
        if entry.item is not None:
            item.item.CopyFrom(convert.item_to_proto(entry.item))
    for note in result.fallbacks:
        response.fallbacks.append(
            common_pb2.Fallback(stage=note.stage, reason=note.reason, detail=note.detail, used=note.used)
        )
    return response


def known_feedback_types(plan: FlowPlan) -> frozenset[str]:
    """Return the feedback types the live flow reads; feedback of any other type would never be used."""
    source = plan.data_source
    types = [*source.positive_feedback_types, *source.read_feedback_types, *source.negative_feedback_types]
    if plan.recommend.write_back_type:
        types.append(plan.recommend.write_back_type)
    return frozenset(types)


class RecommendServicer(gateway_pb2_grpc.RecommendServiceServicer):
    def __init__(self, store: Store, executor: FlowExecutor, plans: PlanCache) -> None:
        self.store = store
        self.executor = executor
        self.plans = plans

    @abort_on_error
    async def Recommend(
        self, request: gateway_pb2.RecommendRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.RecommendResponse:
        if len(request.categories) > MAX_CATEGORIES:
            raise InvalidArgument(f"categories: at most {MAX_CATEGORIES}, got {len(request.categories)}")
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None
        plan = self.plans.current()
        result = await self.executor.recommend(
            plan, request.user_id, request.n, request.offset, list(request.categories), deadline
        )
        log.info(
            "recommend user=%s n=%d offset=%d items=%d flow=%d ranker=%s branch=%s fallbacks=%d",
            request.user_id,
            request.n,
            request.offset,
            len(result.items),
            result.flow_version,
            result.ranker_used,
            result.branch or "-",
            len(result.fallbacks),
        )
        return recommend_response(result)

    @abort_on_error
    async def InsertFeedback(
        self, request: gateway_pb2.InsertFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.InsertFeedbackResponse:
        rows = write_validation.validate_feedback([convert.feedback_from_proto(f) for f in request.feedback])
        write_validation.check_feedback_types(rows, known_feedback_types(self.plans.current()))
        item_ids = list(dict.fromkeys(row.item_id for row in rows))
        known = await asyncio.to_thread(self.store.get_items, item_ids)
        missing = [item_id for item_id in item_ids if item_id not in known]
        if missing:
            raise InvalidArgument(
                f"feedback: unknown item id(s) {', '.join(repr(m) for m in missing[:5])}; insert the items first"
            )
        written = await asyncio.to_thread(self.store.insert_feedback, rows)
        for user_id in {row.user_id for row in rows}:
            self.executor.forget_user(user_id)
        return gateway_pb2.InsertFeedbackResponse(written=written)

    @abort_on_error
    async def InsertItems(
        self, request: gateway_pb2.InsertItemsRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.InsertItemsResponse:
        items = [convert.item_from_proto(item) for item in request.items]
        write_validation.validate_items(items)
        written = await asyncio.to_thread(self.store.insert_items, items)
        return gateway_pb2.InsertItemsResponse(written=written)

    @abort_on_error
    async def InsertUsers(
        self, request: gateway_pb2.InsertUsersRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.InsertUsersResponse:
        users = [convert.user_from_proto(user) for user in request.users]
        write_validation.validate_users(users)
        written = await asyncio.to_thread(self.store.insert_users, users)
        return gateway_pb2.InsertUsersResponse(written=written)

    @abort_on_error
    async def GetItem(
        self, request: gateway_pb2.GetItemRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Item:
        write_validation.check_id("item_id", request.item_id)
        items = await asyncio.to_thread(self.store.get_items, [request.item_id])
        if request.item_id not in items:
            raise NotFound(f"item {request.item_id!r} not found")
        return convert.item_to_proto(items[request.item_id])

    @abort_on_error
    async def GetUser(
        self, request: gateway_pb2.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.User:
        write_validation.check_id("user_id", request.user_id)
        user = await asyncio.to_thread(self.store.get_user, request.user_id)
        if user is None:
            raise NotFound(f"user {request.user_id!r} not found")
        return convert.user_to_proto(user)
