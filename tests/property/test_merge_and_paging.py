from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from recmesh.config import load_config
from recmesh.entities import Feedback, Item
from recmesh.flow.default import flow_from_config
from recmesh.storage import open_store
from recmesh.user_context import FeedbackTypes, build_user_context
from recmesh.v1 import candidate_pb2, common_pb2, flow_pb2
from services.candidate.exclusion_filter import ExclusionFilter
from services.candidate.merge import SourceOutput, merge_sources
from services.candidate.source_factory import SourceCache, SourceDeps
from services.gateway.flow_executor import FlowExecutor
from services.gateway.flow_plan import plan_flow

ITEM_IDS = [f"i{n}" for n in range(30)]
scored_lists = st.lists(
    st.tuples(st.sampled_from(ITEM_IDS), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
    max_size=40,
)
outputs = st.lists(st.tuples(scored_lists, st.integers(min_value=0, max_value=10)), min_size=1, max_size=5)


@given(outputs=outputs, n=st.integers(min_value=1, max_value=60), seen=st.sets(st.sampled_from(ITEM_IDS)))
@settings(max_examples=300, deadline=None)
def test_merge_has_no_duplicates_and_respects_exclusions_and_quotas(
    outputs: list[tuple[list[tuple[str, float]], int]], n: int, seen: set[str]
) -> None:
    context = build_user_context(
        "u", [Feedback("read", "u", item_id, 1) for item_id in seen], FeedbackTypes()
    )
    exclusion = ExclusionFilter(context, {item_id: Item(item_id) for item_id in ITEM_IDS})
    sources = [
        SourceOutput(f"s{k}", exclusion.apply(items), quota) for k, (items, quota) in enumerate(outputs)
    ]

    merged = merge_sources(sources, n)

    ids = [c.item_id for c in merged.candidates]
    assert len(ids) == len(set(ids))
    assert len(ids) <= n
    assert not set(ids) & seen
    for source in sources:
        first_claims = sum(1 for c in merged.candidates if c.sources[0][0] == source.name)
        assert first_claims == merged.contributed[source.name]
        if source.quota:
            assert first_claims <= source.quota
    every_offered = {item_id for source in sources for item_id, _ in source.items}
    if len(every_offered) <= n and not any(source.quota for source in sources):
        assert set(ids) == every_offered


class ListCandidateStub:
    """Stands in for the candidate service: returns a fixed list, whatever is asked."""

    def __init__(self, item_ids: list[str]) -> None:
        self.item_ids = item_ids

    async def GetCandidates(self, request: object, timeout: float) -> candidate_pb2.GetCandidatesResponse:
        return candidate_pb2.GetCandidatesResponse(
            candidates=[common_pb2.ScoredItem(item_id=i, score=1.0) for i in self.item_ids]
        )


@given(
    item_ids=st.lists(st.sampled_from(ITEM_IDS), unique=True, max_size=30),
    page=st.integers(min_value=1, max_value=12),
)
@settings(max_examples=100, deadline=None)
def test_pages_partition_the_ranked_list(item_ids: list[str], page: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/p.db")
        graph = flow_from_config(replace(load_config(env={}).recommend, fallback_sources=()))
        plan = replace(plan_flow(graph), ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE))
        deps = SourceDeps(store=store, types=FeedbackTypes())
        executor = FlowExecutor(store, ListCandidateStub(item_ids), None, SourceCache(deps))  # type: ignore[arg-type]

        async def pages() -> list[list[str]]:
            collected = []
            for offset in range(0, len(item_ids) + page, page):
                result = await executor.recommend(plan, "u", page, offset)
                collected.append([item.item_id for item in result.items])
            return collected

        collected = asyncio.run(pages())
        store.close()

    assert [item_id for chunk in collected for item_id in chunk] == item_ids


class ShiftingCandidateStub:
    """Stands in for a candidate service whose order changes with the number of candidates asked
    for, as a ranker's does when its pool grows: up to five in list order, more in reverse."""

    def __init__(self, item_ids: list[str]) -> None:
        self.item_ids = item_ids

    async def GetCandidates(self, request: candidate_pb2.GetCandidatesRequest, timeout: float) -> object:
        order = self.item_ids if request.n <= 5 else list(reversed(self.item_ids))
        return candidate_pb2.GetCandidatesResponse(
            candidates=[common_pb2.ScoredItem(item_id=i, score=1.0) for i in order[: request.n]]
        )


@given(
    item_ids=st.lists(st.sampled_from(ITEM_IDS), unique=True, max_size=30),
    page=st.integers(min_value=1, max_value=12),
    cache_size=st.integers(min_value=1, max_value=8),
)
@settings(max_examples=100, deadline=None)
def test_pages_past_the_cached_list_never_repeat(item_ids: list[str], page: int, cache_size: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/p.db")
        graph = flow_from_config(replace(load_config(env={}).recommend, fallback_sources=()))
        plan = plan_flow(graph)
        recommend = flow_pb2.RecommendConfig()
        recommend.CopyFrom(plan.recommend)
        recommend.cache_size = cache_size
        plan = replace(
            plan, ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE), recommend=recommend
        )
        deps = SourceDeps(store=store, types=FeedbackTypes())
        executor = FlowExecutor(store, ShiftingCandidateStub(item_ids), None, SourceCache(deps))  # type: ignore[arg-type]

        async def pages() -> list[str]:
            shown = []
            for offset in range(0, len(item_ids) + page, page):
                result = await executor.recommend(plan, "u", page, offset)
                shown.extend(item.item_id for item in result.items)
            return shown

        shown = asyncio.run(pages())
        store.close()

    assert len(shown) == len(set(shown))
    assert set(shown) == set(item_ids)
