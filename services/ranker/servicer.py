"""RankerService: translates Rank and PreviewPrompt to the ranking logic and back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from recmesh.entities import Item, User
from recmesh.grpc_errors import InvalidArgument, abort_on_error
from recmesh.storage import Store
from recmesh.templates import TemplateCompileError, TemplateRenderError
from recmesh.user_context import FeedbackTypes, UserContext, feedback_types_from_proto, load_user_context
from recmesh.v1 import common_pb2, flow_pb2, ranker_pb2, ranker_pb2_grpc
from services.ranker.llm_scorer import (
    LlmScorer,
    LlmScorerFactory,
    PromptInputs,
    needed_item_ids,
    preview_prompt,
)
from services.ranker.none_scorer import NoneScorer
from services.ranker.ranking import FALLBACK_RESERVE_SECONDS, RankOutcome, rank
from services.ranker.scorer import Candidate, Scorer
from services.ranker.switch_metrics import SWITCH_BRANCH_REQUESTS, SWITCH_HISTORY_COUNT
from services.ranker.switch_router import BranchChoice, HistoryCounts, choose_branch, counted_kind

MAX_CANDIDATES = 10_000
DEFAULT_CONTEXT_SIZE = 10

RANKER_NAMES = {
    flow_pb2.RANKER_TYPE_UNSPECIFIED: "none",
    flow_pb2.RANKER_TYPE_NONE: "none",
    flow_pb2.RANKER_TYPE_FM: "fm",
    flow_pb2.RANKER_TYPE_LLM: "llm",
    flow_pb2.RANKER_TYPE_SWITCH: "switch",
}

# Builds the scorer for a ranker node of a flow version.
ScorerBuilder = Callable[[flow_pb2.RankerConfig, int], Scorer]


class ScorerRegistry:
    """The scorers this ranker service can run, by ranker type name."""

    def __init__(self) -> None:
        none = NoneScorer()
        self.builders: dict[str, ScorerBuilder] = {"none": lambda config, version: none}

    def add(self, name: str, builder: ScorerBuilder) -> None:
        self.builders[name] = builder

    def build(self, config: flow_pb2.RankerConfig, flow_version: int) -> Scorer:
        name = RANKER_NAMES.get(config.type, "")
        builder = self.builders.get(name)
        if builder is None:
            raise InvalidArgument(
                f"ranker.type: {name or config.type!r} is not available in this ranker service; "
                f"available: {', '.join(sorted(self.builders))}"
            )
        return builder(config, flow_version)

    def build_fallback(self, config: flow_pb2.RankerConfig, flow_version: int) -> Scorer | None:
        if config.fallback in (flow_pb2.RANKER_TYPE_UNSPECIFIED, flow_pb2.RANKER_TYPE_NONE):
            return None
        return self.build(flow_pb2.RankerConfig(type=config.fallback), flow_version)


@dataclass(frozen=True)
class BoundLlmScorer:
    """An LLM scorer with the prompt inputs and deadline of one request, so that it fits the Scorer contract."""

    scorer: LlmScorer
    inputs: PromptInputs
    deadline: float | None
    name: str = "llm"

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        return await self.scorer.score(context, candidates, self.inputs, self.deadline)


def candidates_from_proto(items: list[common_pb2.ScoredItem]) -> list[Candidate]:
    return [
        Candidate(
            item_id=item.item_id,
            merged_score=item.score,
            sources=tuple((source.source, source.score) for source in item.sources),
        )
        for item in items
    ]


def rank_response(outcome: RankOutcome, model_version: str = "") -> ranker_pb2.RankResponse:
    response = ranker_pb2.RankResponse(ranker_used=outcome.ranker_used, model_version=model_version)
    for ranked in outcome.items:
        item = response.items.add(item_id=ranked.candidate.item_id, score=ranked.score)
        for name, score in ranked.candidate.sources:
            item.sources.add(source=name, score=score)
    if outcome.fallback_reason:
        response.fallback.CopyFrom(
            common_pb2.Fallback(
                stage="ranker",
                reason=outcome.fallback_reason,
                detail=outcome.fallback_detail,
                used=outcome.ranker_used,
            )
        )
    return response


class RankerServicer(ranker_pb2_grpc.RankerServiceServicer):
    def __init__(
        self,
        store: Store,
        scorers: ScorerRegistry,
        default_types: FeedbackTypes,
        llm: LlmScorerFactory | None = None,
    ) -> None:
        self.store = store
        self.scorers = scorers
        self.default_types = default_types
        self.llm = llm

    async def _context(self, user_id: str, data_source: flow_pb2.DataSourceConfig) -> UserContext:
        types = feedback_types_from_proto(data_source, self.default_types)
        return await asyncio.to_thread(load_user_context, self.store, user_id, types)

    async def _prompt_inputs(
        self,
        user: UserContext,
        item_ids: list[str],
        context_size: int,
        data_source: flow_pb2.DataSourceConfig,
    ) -> PromptInputs:
        """Read the items and the user the templates render, in one trip to a worker thread."""
        size = context_size or DEFAULT_CONTEXT_SIZE
        wanted = needed_item_ids(user, item_ids, size)

        def read() -> tuple[dict[str, Item], User | None]:
            return self.store.get_items(wanted), self.store.get_user(user.user_id)

        items, stored_user = await asyncio.to_thread(read)
        positive = feedback_types_from_proto(data_source, self.default_types).positive
        return PromptInputs(items=items, user=stored_user, positive_types=positive, context_size=size)

    @abort_on_error
    async def Rank(
        self, request: ranker_pb2.RankRequest, context: grpc.aio.ServicerContext
    ) -> ranker_pb2.RankResponse:
        if not request.user_id:
            raise InvalidArgument("user_id: must not be empty")
        if len(request.candidates) > MAX_CANDIDATES:
            raise InvalidArgument(f"candidates: at most {MAX_CANDIDATES}, got {len(request.candidates)}")
        # The LLM templates and the switch's history counts read the user's feedback. The fm and none
        # scorers need the user id alone, so they skip a store read per request.
        if request.ranker.type in (flow_pb2.RANKER_TYPE_LLM, flow_pb2.RANKER_TYPE_SWITCH):
            user = await self._context(request.user_id, request.data_source)
        else:
            user = UserContext(user_id=request.user_id)
        candidates = candidates_from_proto(list(request.candidates))

        ranker, branch = self._resolve_switch(request.ranker, user)
        primary = self.scorers.build(ranker, request.flow_version)
        fallback = self.scorers.build_fallback(ranker, request.flow_version)

        timeout = ranker.timeout_ms / 1000 if ranker.timeout_ms else None
        remaining = context.time_remaining()
        if remaining is not None:
            budget = max(remaining - FALLBACK_RESERVE_SECONDS, 0.001)
            timeout = budget if timeout is None else min(timeout, budget)
        if isinstance(primary, LlmScorer):
            inputs = await self._prompt_inputs(
                user, [c.item_id for c in candidates], request.context_size, request.data_source
            )
            deadline = time.monotonic() + timeout if timeout is not None else None
            primary = BoundLlmScorer(primary, inputs, deadline)

        outcome = await rank(user, candidates, primary, fallback, timeout)
        response = rank_response(outcome)
        if branch is not None:
            response.branch = branch.label
        return response

    def _resolve_switch(
        self, ranker: flow_pb2.RankerConfig, user: UserContext
    ) -> tuple[flow_pb2.RankerConfig, BranchChoice | None]:
        """Return the ranker config to run: the node itself, or for a switch the ranker of the branch taken."""
        if ranker.type != flow_pb2.RANKER_TYPE_SWITCH:
            return ranker, None
        counts = HistoryCounts.of(user)
        branch = switch_branch(ranker, user.user_id, counts)

        kind = counted_kind(ranker.branches)
        if kind:
            SWITCH_HISTORY_COUNT.labels(kind).observe(counts.value(kind))
        SWITCH_BRANCH_REQUESTS.labels(branch.metric_label, RANKER_NAMES.get(branch.ranker.type, "none")).inc()
        return branch.ranker, branch

    @abort_on_error
    async def PreviewPrompt(
        self, request: ranker_pb2.PreviewPromptRequest, context: grpc.aio.ServicerContext
    ) -> ranker_pb2.PreviewPromptResponse:
        if not request.user_id:
            raise InvalidArgument("user_id: must not be empty")
        if len(request.item_ids) > MAX_CANDIDATES:
            raise InvalidArgument(f"item_ids: at most {MAX_CANDIDATES}, got {len(request.item_ids)}")
        user = await self._context(request.user_id, request.data_source)
        ranker = request.ranker
        if ranker.type == flow_pb2.RANKER_TYPE_SWITCH:
            # The preview shows the prompt of the branch this user takes, which must be an llm ranker.
            branch = switch_branch(ranker, user.user_id, HistoryCounts.of(user))
            if branch.ranker.type != flow_pb2.RANKER_TYPE_LLM:
                raise InvalidArgument(
                    f"ranker: user {user.user_id!r} takes {branch.label}, whose "
                    f"{RANKER_NAMES.get(branch.ranker.type, 'none')} ranker has no prompt: "
                    "preview a user whose branch is an llm ranker"
                )
            ranker = branch.ranker
        if not ranker.query_template or not ranker.document_template:
            raise InvalidArgument("ranker: query_template and document_template are both required")
        item_ids = list(request.item_ids)
        inputs = await self._prompt_inputs(user, item_ids, request.context_size, request.data_source)
        templates = self.llm.templates if self.llm is not None else None
        try:
            query, documents = preview_prompt(ranker, user, item_ids, inputs, templates)
        except (TemplateCompileError, TemplateRenderError) as exc:
            raise InvalidArgument(f"ranker: {exc}") from exc
        return ranker_pb2.PreviewPromptResponse(
            query=query,
            documents=[ranker_pb2.Document(item_id=item_id, text=text) for item_id, text in documents],
        )


def switch_branch(switch: flow_pb2.RankerConfig, user_id: str, counts: HistoryCounts) -> BranchChoice:
    """Return the branch of the switch the user takes; raise InvalidArgument when the switch cannot run."""
    branch = choose_branch(switch.branches, counts)
    if branch is None:
        raise InvalidArgument(
            f"ranker.branches: no branch applies to user {user_id!r} with {counts.positive} positive "
            f"and {counts.all} feedbacks in all; add a default branch (no min_count or max_count)"
        )
    if branch.ranker.type == flow_pb2.RANKER_TYPE_SWITCH:
        raise InvalidArgument(
            f"ranker.branches[{branch.index}].ranker.type: a switch inside a switch is not supported"
        )
    return branch
