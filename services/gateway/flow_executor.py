"""Run Recommend along the live flow: candidates, ranking, fallback fill, then the requested page.

Failures stay inside their stage: an unreachable candidate service is replaced by the fallback
recommenders the gateway computes from the store, an unreachable ranker by the merged order. The
reply lists each such fallback. Only an invalid request or an unreachable store ends a request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from prometheus_client import Counter, Histogram

from recmesh.entities import Feedback, Item
from recmesh.grpc_errors import InvalidArgument
from recmesh.logs import LogThrottle
from recmesh.metrics import LATENCY_BUCKETS
from recmesh.storage import Store
from recmesh.user_context import feedback_types_from_proto
from recmesh.v1 import candidate_pb2, candidate_pb2_grpc, common_pb2, flow_pb2, ranker_pb2, ranker_pb2_grpc
from services.candidate.candidate_generator import CandidateGenerator, PlannedSource
from services.candidate.source_factory import DEFAULT_CANDIDATES, STORE_ONLY_TYPES, SourceCache, source_limits
from services.gateway.flow_plan import FlowPlan
from services.gateway.result_cache import ResultCache
from services.gateway.write_validation import check_id

log = logging.getLogger(__name__)
# One warning per failing stage every 10 s: a service that is down fails every request.
WARNINGS = LogThrottle(10.0)

NODE_LATENCY = Histogram(
    "recmesh_flow_node_duration_seconds",
    "Time one stage of the flow took in Recommend, by flow node id and node type.",
    ["node", "type"],
    buckets=LATENCY_BUCKETS,
)
NODE_ITEMS = Counter(
    "recmesh_flow_node_items_total",
    "Items a stage of the flow produced in Recommend, by flow node id and node type.",
    ["node", "type"],
)
RECOMMEND_OUTCOMES = Counter(
    "recmesh_recommend_requests_total",
    "Recommend calls by the ranker that produced the order and the first fallback reason (none if none).",
    ["ranker", "fallback_reason"],
)

MAX_OFFSET = 10_000
# Candidates ranked for a first page when the flow's recommend node sets no cache_size.
DEFAULT_CACHE_SIZE = 100
# Share of the remaining deadline the candidate stage may use, so ranking and fill keep time.
CANDIDATE_SHARE = 0.4


@dataclass(frozen=True, slots=True)
class RecommendedItem:
    item_id: str
    score: float
    sources: tuple[tuple[str, float], ...]
    item: Item | None


@dataclass(frozen=True, slots=True)
class FallbackNote:
    stage: str
    reason: str
    detail: str
    used: str


@dataclass(frozen=True)
class RankedList:
    items: tuple[common_pb2.ScoredItem, ...]
    ranker_used: str
    fallbacks: tuple[FallbackNote, ...] = ()
    # The switch branch the ranker service took, such as "branches[0] (positive < 20)"; empty otherwise.
    branch: str = ""


def extend_list(ranked: RankedList, longer: RankedList) -> RankedList:
    """Append the items of longer that ranked lacks, keeping ranked's order and ranker."""
    present = {item.item_id for item in ranked.items}
    added = tuple(item for item in longer.items if item.item_id not in present)
    fallbacks = ranked.fallbacks + tuple(note for note in longer.fallbacks if note not in ranked.fallbacks)
    return RankedList(
        items=ranked.items + added, ranker_used=ranked.ranker_used, fallbacks=fallbacks, branch=ranked.branch
    )


@dataclass
class RecommendResult:
    items: list[RecommendedItem]
    flow_version: int
    ranker_used: str
    fallbacks: list[FallbackNote] = field(default_factory=list)
    branch: str = ""


class FlowExecutor:
    def __init__(
        self,
        store: Store,
        candidate_stub: candidate_pb2_grpc.CandidateServiceStub,
        ranker_stub: ranker_pb2_grpc.RankerServiceStub,
        local_sources: SourceCache,
        timeout_seconds: float = 2.0,
        cache: ResultCache[RankedList] | None = None,
    ) -> None:
        self.store = store
        self.candidates = candidate_stub
        self.ranker = ranker_stub
        self.local_sources = local_sources
        self.local_generator = CandidateGenerator(store)
        self.timeout_seconds = timeout_seconds
        self.cache: ResultCache[RankedList] = cache or ResultCache()

    def check_page(self, plan: FlowPlan, n: int, offset: int) -> int:
        """Return the page size for n (0 takes the flow's default); raise InvalidArgument if out of range."""
        config = plan.recommend
        max_n = config.max_n or 100
        if n == 0:
            n = config.default_n or 10
        if not 0 < n <= max_n:
            raise InvalidArgument(
                f"n: must be between 1 and {max_n} (0 takes the default {config.default_n}), got {n}"
            )
        if not 0 <= offset <= MAX_OFFSET - n:
            raise InvalidArgument(
                f"offset: must be between 0 and {MAX_OFFSET} - n ({MAX_OFFSET - n}), got {offset}"
            )
        return n

    async def recommend(
        self,
        plan: FlowPlan,
        user_id: str,
        n: int,
        offset: int = 0,
        categories: Sequence[str] = (),
        deadline: float | None = None,
    ) -> RecommendResult:
        check_id("user_id", user_id)
        n = self.check_page(plan, n, offset)
        deadline = min(deadline or float("inf"), time.monotonic() + self.timeout_seconds)

        # A first page is always ranked afresh, over the flow's cache_size candidates. Later pages read
        # the list it cached, and a page past its end extends it with the new items of a larger
        # ranking. So the pages of one list never repeat an item, and a longer first page starts
        # with the items of a shorter one.
        key = (user_id, plan.version, tuple(sorted(categories)))
        cached = self.cache.get(key) if offset > 0 else None
        is_fresh = cached is None
        if cached is None:
            pool = plan.recommend.cache_size or DEFAULT_CACHE_SIZE
            ranked = await self._rank_list(plan, user_id, pool, categories, deadline)
        else:
            ranked = cached
        if len(ranked.items) < offset + n:
            longer = await self._rank_list(plan, user_id, offset + n, categories, deadline)
            ranked = extend_list(ranked, longer)
        if ranked is not cached:
            self.cache.put(key, ranked)

        # A list ranked in this request already excludes the user's seen items, so only a cached
        # list needs the store read that filters the items seen since it was ranked.
        page, details = await asyncio.to_thread(
            self._visible_page, plan, user_id, ranked, n, offset, not is_fresh
        )
        await self._write_back(plan, user_id, page)
        first_reason = ranked.fallbacks[0].reason if ranked.fallbacks else "none"
        RECOMMEND_OUTCOMES.labels(ranked.ranker_used, first_reason).inc()
        return RecommendResult(
            items=[
                RecommendedItem(
                    item_id=item.item_id,
                    score=item.score,
                    sources=tuple((s.source, s.score) for s in item.sources),
                    item=details.get(item.item_id),
                )
                for item in page
            ],
            flow_version=plan.version,
            ranker_used=ranked.ranker_used,
            fallbacks=list(ranked.fallbacks),
            branch=ranked.branch,
        )

    def forget_user(self, user_id: str) -> None:
        """Drop the user's cached lists, after a write that changes what they may be shown."""
        self.cache.discard_user(user_id)

    def _visible_page(
        self, plan: FlowPlan, user_id: str, ranked: RankedList, n: int, offset: int, drop_seen: bool
    ) -> tuple[list[common_pb2.ScoredItem], dict[str, Item]]:
        """Drop the items the user has seen since the list was ranked (when drop_seen), cut the page
        and read its items. The store reads happen in one call: one trip to a worker thread."""
        seen = self._seen_items(user_id, plan) if drop_seen else set()
        visible = [item for item in ranked.items if item.item_id not in seen]
        page = visible[offset : offset + n]
        return page, self.store.get_items([item.item_id for item in page])

    def _seen_items(self, user_id: str, plan: FlowPlan) -> set[str]:
        if plan.recommend.replacement:
            negative = set(plan.data_source.negative_feedback_types)
            return (
                {f.item_id for f in self.store.user_feedback(user_id, list(negative))} if negative else set()
            )
        return {f.item_id for f in self.store.user_feedback(user_id)}

    async def _rank_list(
        self, plan: FlowPlan, user_id: str, wanted: int, categories: Sequence[str], deadline: float
    ) -> RankedList:
        fallbacks: list[FallbackNote] = []

        candidates = await self._candidates(plan, user_id, wanted, categories, deadline, fallbacks)

        ranked, ranker_used, branch = await self._rank(plan, user_id, candidates, deadline, fallbacks)

        filled = await self._fill(plan, user_id, ranked, wanted, categories, deadline, fallbacks)

        return RankedList(
            items=tuple(filled), ranker_used=ranker_used, fallbacks=tuple(fallbacks), branch=branch
        )

    async def _candidates(
        self,
        plan: FlowPlan,
        user_id: str,
        wanted: int,
        categories: Sequence[str],
        deadline: float,
        fallbacks: list[FallbackNote],
    ) -> list[common_pb2.ScoredItem]:
        if not plan.sources:
            return []
        started = time.perf_counter()
        request = candidate_pb2.GetCandidatesRequest(
            user_id=user_id,
            sources=plan.sources,
            n=wanted,
            categories=categories,
            data_source=plan.data_source,
            replacement=plan.recommend.replacement,
        )
        timeout = max((deadline - time.monotonic()) * CANDIDATE_SHARE, 0.001)
        try:
            reply = await self.candidates.GetCandidates(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(f"flow version {plan.version}: {exc.details()}") from exc
            held = WARNINGS.allow("candidates")
            if held is not None:
                log.warning(
                    "candidate service failed (%s: %s); using the store's recommenders instead "
                    "(%d similar warnings held back)",
                    exc.code().name,
                    exc.details(),
                    held,
                )
            local = await self._local_candidates(
                plan.fallback_sources or plan.sources, plan, user_id, wanted, categories
            )
            fallbacks.append(
                FallbackNote(
                    stage="candidates",
                    reason=_reason(exc),
                    detail=f"candidate service: {exc.code().name}: {exc.details()}",
                    used="gateway:" + ",".join(node.id for node in local[1]) if local[1] else "nothing",
                )
            )
            return local[0]
        for report in reply.sources:
            NODE_LATENCY.labels(report.source, report.type).observe(report.seconds)
            NODE_ITEMS.labels(report.source, report.type).inc(report.contributed)
        NODE_LATENCY.labels("candidates", "merge").observe(time.perf_counter() - started)
        return list(reply.candidates)

    async def _local_candidates(
        self,
        nodes: Sequence[flow_pb2.Node],
        plan: FlowPlan,
        user_id: str,
        wanted: int,
        categories: Sequence[str],
        exclude: Sequence[str] = (),
    ) -> tuple[list[common_pb2.ScoredItem], list[flow_pb2.Node]]:
        """Run, in the gateway, the recommenders among nodes that need only the store."""
        usable = [node for node in nodes if node.WhichOneof("config") in STORE_ONLY_TYPES]
        if not usable:
            return [], []
        plan_sources = [
            PlannedSource(self.local_sources.get(node), source_limits(node).candidates or DEFAULT_CANDIDATES)
            for node in usable
        ]
        result = await self.local_generator.generate(
            user_id,
            plan_sources,
            wanted,
            feedback_types_from_proto(plan.data_source, self.local_sources.deps.types),
            exclude=exclude,
            categories=categories,
            replacement=plan.recommend.replacement,
        )
        items = [
            common_pb2.ScoredItem(
                item_id=c.item_id,
                score=c.score,
                sources=[common_pb2.SourceScore(source=s, score=v) for s, v in c.sources],
            )
            for c in result.candidates
        ]
        return items, usable

    async def _rank(
        self,
        plan: FlowPlan,
        user_id: str,
        candidates: list[common_pb2.ScoredItem],
        deadline: float,
        fallbacks: list[FallbackNote],
    ) -> tuple[list[common_pb2.ScoredItem], str, str]:
        """Return the ranked candidates, the ranker that ordered them and the switch branch taken, if any."""
        if (
            plan.ranker.type in (flow_pb2.RANKER_TYPE_UNSPECIFIED, flow_pb2.RANKER_TYPE_NONE)
            or not candidates
        ):
            return candidates, "none", ""
        started = time.perf_counter()
        request = ranker_pb2.RankRequest(
            user_id=user_id,
            candidates=candidates,
            ranker=plan.ranker,
            context_size=plan.recommend.context_size,
            data_source=plan.data_source,
            flow_version=plan.version,
        )
        timeout = max(deadline - time.monotonic(), 0.001)
        try:
            reply = await self.ranker.Rank(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(f"flow version {plan.version}: ranker: {exc.details()}") from exc
            held = WARNINGS.allow("ranker")
            if held is not None:
                log.warning(
                    "ranker service failed (%s: %s); keeping the merged order (%d similar warnings held back)",
                    exc.code().name,
                    exc.details(),
                    held,
                )
            fallbacks.append(
                FallbackNote(
                    stage="ranker",
                    reason=_reason(exc),
                    detail=f"ranker service: {exc.code().name}: {exc.details()}",
                    used="none",
                )
            )
            return candidates, "none", ""
        NODE_LATENCY.labels(plan.ranker_id, "ranker").observe(time.perf_counter() - started)
        NODE_ITEMS.labels(plan.ranker_id, "ranker").inc(len(reply.items))
        if reply.HasField("fallback"):
            fallback = reply.fallback
            fallbacks.append(FallbackNote(fallback.stage, fallback.reason, fallback.detail, fallback.used))
        return list(reply.items), reply.ranker_used, reply.branch

    async def _fill(
        self,
        plan: FlowPlan,
        user_id: str,
        ranked: list[common_pb2.ScoredItem],
        wanted: int,
        categories: Sequence[str],
        deadline: float,
        fallbacks: list[FallbackNote],
    ) -> list[common_pb2.ScoredItem]:
        """Append fallback recommenders' items, deduplicated, when fewer than wanted remain."""
        if len(ranked) >= wanted or not plan.fallback_sources:
            return ranked
        started = time.perf_counter()
        present = [item.item_id for item in ranked]
        request = candidate_pb2.GetCandidatesRequest(
            user_id=user_id,
            sources=plan.fallback_sources,
            n=wanted - len(ranked),
            exclude_item_ids=present,
            categories=categories,
            data_source=plan.data_source,
            replacement=plan.recommend.replacement,
        )
        timeout = max(deadline - time.monotonic(), 0.001)
        try:
            reply = await self.candidates.GetCandidates(request, timeout=timeout)
            extra = list(reply.candidates)
        except grpc.aio.AioRpcError as exc:
            held = WARNINGS.allow("fallback")
            if held is not None:
                log.warning(
                    "fallback fill from the candidate service failed (%s); using the store's recommenders "
                    "(%d similar warnings held back)",
                    exc.code().name,
                    held,
                )
            extra, used = await self._local_candidates(
                plan.fallback_sources, plan, user_id, wanted - len(ranked), categories, exclude=present
            )
            if not any(note.stage == "candidates" for note in fallbacks):
                fallbacks.append(
                    FallbackNote(
                        stage="fallback",
                        reason=_reason(exc),
                        detail=f"candidate service: {exc.code().name}: {exc.details()}",
                        used="gateway:" + ",".join(node.id for node in used) if used else "nothing",
                    )
                )
        NODE_LATENCY.labels("fallback", "fallback").observe(time.perf_counter() - started)
        NODE_ITEMS.labels("fallback", "fallback").inc(len(extra))
        return ranked + extra

    async def _write_back(self, plan: FlowPlan, user_id: str, page: list[common_pb2.ScoredItem]) -> None:
        feedback_type = plan.recommend.write_back_type
        if not feedback_type or not page:
            return
        now = int(time.time())
        rows = [
            Feedback(type=feedback_type, user_id=user_id, item_id=item.item_id, timestamp=now)
            for item in page
        ]
        await asyncio.to_thread(self.store.insert_feedback, rows)


def _reason(exc: grpc.aio.AioRpcError) -> str:
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "timeout"
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return "unavailable"
    return "error"
