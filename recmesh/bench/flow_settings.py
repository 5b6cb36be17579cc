"""The flow bench-llm evaluates: its LLM ranker settings, feedback types and context size."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from recmesh.config import Config, RerankerApiSettings
from recmesh.flow.default import flow_from_config
from recmesh.flow.text import read_flow_file
from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from services.gateway.flow_plan import plan_flow
from services.ranker.llm_scorer import LlmRankerSettings

# The ranker service's context size when the recommend node leaves it at 0.
DEFAULT_CONTEXT_SIZE = 10


class BenchFlowError(ValueError):
    """The flow to evaluate has no usable LLM ranker; the message names the flow and what to do."""


@dataclass(frozen=True)
class BenchFlow:
    # Origin of the flow, for the printed report: "live flow version 3", "flow file x.toml", ...
    origin: str
    llm: LlmRankerSettings
    types: FeedbackTypes
    context_size: int
    # The flow's ranker node when it is a switch ranker, else None.
    switch: flow_pb2.RankerConfig | None = None

    def fingerprint(self) -> str:
        """Return a hash of every setting that changes what the reranker is sent or how it is labelled.

        The URL is left out on purpose: the same model behind another address gives the same scores.
        """
        settings = {
            "query_template": self.llm.query_template,
            "document_template": self.llm.document_template,
            "model": self.llm.model,
            "max_documents": self.llm.max_documents,
            "context_size": self.context_size,
            "positive": list(self.types.positive),
            "read": list(self.types.read),
            "negative": list(self.types.negative),
        }
        encoded = json.dumps(settings, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def choose_flow(store: Store, config: Config, flow_file: str | None) -> tuple[flow_pb2.FlowGraph, str]:
    """Return the flow to evaluate and its origin: the --flow file, else the live flow, else the config's.

    Raise FlowFileError when the file cannot be read.
    """
    if flow_file is not None:
        return read_flow_file(Path(flow_file)), f"flow file {flow_file}"
    live = store.live_flow()
    if live is not None:
        return flow_pb2.FlowGraph.FromString(live.data), f"live flow version {live.version}"
    return flow_from_config(config.recommend), f"the flow of {config.path}"


def bench_flow(
    graph: flow_pb2.FlowGraph, origin: str, api: RerankerApiSettings, default_types: FeedbackTypes
) -> BenchFlow:
    """Read the LLM ranker, feedback types and context size; raise BenchFlowError when there is no LLM ranker."""
    try:
        plan = plan_flow(graph)
    except ValueError as exc:
        raise BenchFlowError(f"{origin}: {exc}") from exc

    ranker = llm_ranker_config(plan.ranker, plan.ranker_id, origin)
    data_source = plan.data_source
    types = FeedbackTypes(
        positive=tuple(data_source.positive_feedback_types) or default_types.positive,
        read=tuple(data_source.read_feedback_types) or default_types.read,
        negative=tuple(data_source.negative_feedback_types) or default_types.negative,
        positive_ttl_seconds=data_source.positive_feedback_ttl_seconds,
        item_ttl_seconds=data_source.item_ttl_seconds,
    )
    return BenchFlow(
        origin=origin,
        llm=LlmRankerSettings.from_proto(ranker, api),
        types=types,
        context_size=plan.recommend.context_size or DEFAULT_CONTEXT_SIZE,
        switch=plan.ranker if plan.ranker.type == flow_pb2.RANKER_TYPE_SWITCH else None,
    )


def llm_ranker_config(ranker: flow_pb2.RankerConfig, node_id: str, origin: str) -> flow_pb2.RankerConfig:
    """Return the ranker config whose templates the reranker column uses.

    That is the node itself when it is an llm ranker, the first llm branch of a switch ranker, or the
    node of another type when it carries both templates (the config file's fm ranker does).
    """
    candidate: flow_pb2.RankerConfig | None = ranker
    if ranker.type == flow_pb2.RANKER_TYPE_SWITCH:
        llm_branches = [b.ranker for b in ranker.branches if b.ranker.type == flow_pb2.RANKER_TYPE_LLM]
        candidate = llm_branches[0] if llm_branches else None
    if candidate is not None and candidate.query_template and candidate.document_template:
        return candidate

    kind = flow_pb2.RankerType.Name(ranker.type).removeprefix("RANKER_TYPE_").lower()
    where = f"ranker node {node_id!r}" if node_id else "no ranker node"
    raise BenchFlowError(
        f"{origin}: {where} ({kind}) has no llm ranker with a query_template and a document_template; "
        "pass --flow FILE with an llm ranker node, or set the templates in [recommend.ranker]"
    )
