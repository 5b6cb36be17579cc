"""The LLM ranker: renders a query and one document per candidate and scores them through a rerank API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import jinja2

from recmesh.config import RerankerApiSettings
from recmesh.entities import Feedback, Item, User
from recmesh.templates import (
    FeedbackWithItem,
    TemplateCompileError,
    TemplateRenderError,
    compile_template,
    render_document,
    render_query,
)
from recmesh.user_context import UserContext
from recmesh.v1 import flow_pb2
from services.ranker import llm_metrics
from services.ranker.circuit_breaker import BreakerState, CircuitBreaker
from services.ranker.reranker_client import RerankCall, RerankerClient, RerankResult
from services.ranker.scorer import Candidate, ScorerError

log = logging.getLogger(__name__)

# Used where the ranker node leaves a field at 0; the same values as the config file's defaults.
DEFAULT_TIMEOUT_MS = 1500
DEFAULT_CONNECT_TIMEOUT_MS = 300
DEFAULT_MAX_DOCUMENTS = 100
DEFAULT_BREAKER_RESET_SECONDS = 30
QUERY_TEMPLATE_NAME = "query_template"
DOCUMENT_TEMPLATE_NAME = "document_template"


@dataclass(frozen=True, slots=True)
class LlmRankerSettings:
    url: str
    model: str
    query_template: str
    document_template: str
    timeout_seconds: float
    connect_timeout_seconds: float
    max_documents: int
    breaker_failures: int
    breaker_reset_seconds: float

    @classmethod
    def from_proto(cls, ranker: flow_pb2.RankerConfig, api: RerankerApiSettings) -> LlmRankerSettings:
        """Read an LLM ranker node; its reranker_api url and model win over the configuration file's."""
        return cls(
            url=ranker.reranker_api.url or api.url,
            model=ranker.reranker_api.model or api.model,
            query_template=ranker.query_template,
            document_template=ranker.document_template,
            timeout_seconds=(ranker.timeout_ms or DEFAULT_TIMEOUT_MS) / 1000,
            connect_timeout_seconds=(ranker.connect_timeout_ms or DEFAULT_CONNECT_TIMEOUT_MS) / 1000,
            max_documents=ranker.max_documents or DEFAULT_MAX_DOCUMENTS,
            breaker_failures=ranker.breaker_failures,
            breaker_reset_seconds=ranker.breaker_reset_seconds or DEFAULT_BREAKER_RESET_SECONDS,
        )


@dataclass(frozen=True, slots=True)
class PromptInputs:
    """Per-request values the templates need, loaded from the store by the servicer."""

    # Items of the candidates and of the user's feedback; a missing item renders with its id only.
    items: Mapping[str, Item]
    user: User | None = None
    # Feedback types that count as positive; empty takes every feedback on context.positive_items.
    positive_types: Collection[str] = ()
    # Newest positive feedbacks the query template receives.
    context_size: int = 10


class TemplateCache:
    """Compiled templates keyed by (flow version, template text), so each flow version compiles once."""

    def __init__(self, max_entries: int = 64) -> None:
        self._entries: OrderedDict[tuple[int, str, str], jinja2.Template] = OrderedDict()
        self._max_entries = max_entries

    def get(self, flow_version: int, name: str, source: str) -> jinja2.Template:
        """Return the compiled template; raise TemplateCompileError when source does not compile."""
        key = (flow_version, name, source)
        template = self._entries.get(key)
        if template is None:
            template = compile_template(source, name)
            self._entries[key] = template
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return template


def newest_positive_feedback(
    context: UserContext, positive_types: Collection[str], limit: int
) -> list[Feedback]:
    """Return the newest positive feedback per item, newest first, at most limit of them."""
    eligible = set(context.positive_items)
    chosen: dict[str, Feedback] = {}
    for feedback in context.feedback:
        if len(chosen) >= limit:
            break
        if feedback.item_id not in eligible or feedback.item_id in chosen:
            continue
        if positive_types and feedback.type not in positive_types:
            continue
        chosen[feedback.item_id] = feedback
    return list(chosen.values())


def needed_item_ids(context: UserContext, candidate_ids: Sequence[str], context_size: int) -> list[str]:
    """Return the ids of every item the templates may read: the query's feedback items, then the candidates."""
    feedback_items = [item_id for item_id in context.positive_items[:context_size]]
    return list(dict.fromkeys([*feedback_items, *candidate_ids]))


def render_prompt(
    query_template: jinja2.Template,
    document_template: jinja2.Template,
    context: UserContext,
    item_ids: Sequence[str],
    inputs: PromptInputs,
) -> tuple[str, list[tuple[str, str]]]:
    """Render the query and one (item id, document) per item id; raise TemplateRenderError naming the template."""
    feedback = newest_positive_feedback(context, inputs.positive_types, inputs.context_size)
    with_items = [FeedbackWithItem(f, inputs.items.get(f.item_id) or Item(f.item_id)) for f in feedback]
    user = inputs.user or User(context.user_id)

    query = render_query(query_template, user, with_items)
    documents = [
        (item_id, render_document(document_template, inputs.items.get(item_id) or Item(item_id)))
        for item_id in item_ids
    ]
    return query, documents


def preview_prompt(
    ranker: flow_pb2.RankerConfig,
    context: UserContext,
    item_ids: Sequence[str],
    inputs: PromptInputs,
    templates: TemplateCache | None = None,
) -> tuple[str, list[tuple[str, str]]]:
    """Return what an LLM ranker node would send for the user: the query and (item id, document) pairs.

    Raise TemplateCompileError or TemplateRenderError naming the template at fault.
    """
    cache = templates or TemplateCache()
    # Version -1 keeps previews, whose flow may be unsaved, apart from the compiled flows.
    query_template = cache.get(-1, QUERY_TEMPLATE_NAME, ranker.query_template)
    document_template = cache.get(-1, DOCUMENT_TEMPLATE_NAME, ranker.document_template)
    return render_prompt(query_template, document_template, context, item_ids, inputs)


def scores_from_result(result: RerankResult) -> list[float]:
    """Return one score per document that reproduces result.order when sorted descending.

    Scored documents keep the API's score. Documents the reply left out get
    scores below the lowest one, decreasing in the order they were sent.
    """
    scored = [score for score in result.scores if score is not None]
    floor = min(scored) if scored else 0.0
    scores = [score if score is not None else 0.0 for score in result.scores]
    rank_below = 0
    for index in result.order:
        if result.scores[index] is None:
            rank_below += 1
            scores[index] = floor - rank_below
    return scores


class LlmScorer:
    """Scorer of one LLM ranker node: the rerank API behind a circuit breaker.

    Sort the candidates by the returned scores, descending and stably, to get the reranked order.
    """

    name = "llm"

    def __init__(
        self,
        settings: LlmRankerSettings,
        client: RerankerClient,
        breaker: CircuitBreaker,
        templates: TemplateCache,
        flow_version: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = client
        self.breaker = breaker
        self._templates = templates
        self._flow_version = flow_version
        self._clock = clock
        self._call = RerankCall(
            url=settings.url,
            model=settings.model,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            max_documents=settings.max_documents,
        )

    def _compiled(self) -> tuple[jinja2.Template, jinja2.Template]:
        try:
            return (
                self._templates.get(self._flow_version, QUERY_TEMPLATE_NAME, self.settings.query_template),
                self._templates.get(
                    self._flow_version, DOCUMENT_TEMPLATE_NAME, self.settings.document_template
                ),
            )
        except TemplateCompileError as exc:
            raise ScorerError("template_error", str(exc)) from exc

    def render(
        self, context: UserContext, item_ids: Sequence[str], inputs: PromptInputs
    ) -> tuple[str, list[tuple[str, str]]]:
        """Return the query and the (item id, document) pairs this node sends; raise ScorerError on a template error."""
        query_template, document_template = self._compiled()
        try:
            return render_prompt(query_template, document_template, context, item_ids, inputs)
        except TemplateRenderError as exc:
            raise ScorerError("template_error", str(exc)) from exc

    async def score(
        self,
        context: UserContext,
        candidates: list[Candidate],
        inputs: PromptInputs | None = None,
        deadline: float | None = None,
    ) -> list[float]:
        """Return one score per candidate; raise ScorerError naming why the rerank failed.

        deadline is the request's deadline on the scorer's clock (time.monotonic by
        default); the node's timeout applies when it is earlier or when deadline is None.
        """
        if not candidates:
            return []
        item_ids = [candidate.item_id for candidate in candidates]
        query, documents = self.render(context, item_ids, inputs or PromptInputs(items={}))

        if not self.breaker.allow():
            raise ScorerError(
                "breaker_open",
                f"circuit breaker for the rerank API at {self._client.redact(self.settings.url)} is open after "
                f"{self.settings.breaker_failures} consecutive failures; a trial call follows "
                f"{self.settings.breaker_reset_seconds:g} s after it opened",
            )
        node_deadline = self._clock() + self.settings.timeout_seconds
        effective_deadline = node_deadline if deadline is None else min(deadline, node_deadline)
        try:
            result = await self._client.rerank(
                self._call, query, [text for _, text in documents], effective_deadline
            )
        except ScorerError:
            self.breaker.record_failure()
            raise
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return scores_from_result(result)


def _export_breaker_state(state: BreakerState) -> None:
    # NOTE: one gauge for every breaker of the process; it shows the state the last change set.
    llm_metrics.RERANKER_BREAKER_STATE.set(int(state))
    log.warning("rerank API circuit breaker is now %s", state.name.lower().replace("_", "-"))


class LlmScorerFactory:
    """Source of LLM scorers for ranker nodes. They share one client, one template cache and a breaker per API."""

    def __init__(self, api: RerankerApiSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.client = RerankerClient(api.auth_token, clock=clock)
        self.templates = TemplateCache()
        self.breakers: dict[tuple[str, str, int, float], CircuitBreaker] = {}
        self._clock = clock

    def __repr__(self) -> str:
        return f"LlmScorerFactory(api={self.api!r})"

    def scorer(self, ranker: flow_pb2.RankerConfig, flow_version: int) -> LlmScorer:
        """Return a scorer for the node. A new flow version with the same API keeps the breaker's state."""
        settings = LlmRankerSettings.from_proto(ranker, self.api)
        key = (settings.url, settings.model, settings.breaker_failures, settings.breaker_reset_seconds)
        breaker = self.breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(
                settings.breaker_failures, settings.breaker_reset_seconds, self._clock, _export_breaker_state
            )
            self.breakers[key] = breaker
        return LlmScorer(settings, self.client, breaker, self.templates, flow_version, self._clock)

    async def close(self) -> None:
        await self.client.close()
