"""Checks of one node's config: numbers in range, URLs, templates and switch branches."""

from __future__ import annotations

from collections.abc import Sequence

import jinja2

from recmesh.flow import limits
from recmesh.flow.graph import node_kind
from recmesh.flow.problems import FlowProblem
from recmesh.flow.switch_branches import ALL, POSITIVE, BranchBounds, find_branch_problems
from recmesh.templates import TemplateCompileError, compile_template
from recmesh.v1 import flow_pb2

KNOWN_RANKER_TYPES = frozenset(flow_pb2.RankerType.values()) - {flow_pb2.RANKER_TYPE_UNSPECIFIED}
# A ranker that takes over after a failure must not fail the same way, so it is never llm or switch.
FALLBACK_RANKER_TYPES = frozenset(
    {flow_pb2.RANKER_TYPE_UNSPECIFIED, flow_pb2.RANKER_TYPE_NONE, flow_pb2.RANKER_TYPE_FM}
)
# Rankers a switch branch may use: a switch inside a switch is not supported.
BRANCH_RANKER_TYPES = frozenset(
    {flow_pb2.RANKER_TYPE_NONE, flow_pb2.RANKER_TYPE_FM, flow_pb2.RANKER_TYPE_LLM}
)

HISTORY_COUNTS = {flow_pb2.HISTORY_COUNT_POSITIVE: POSITIVE, flow_pb2.HISTORY_COUNT_ALL: ALL}


class ProblemCollector:
    """Collects the problems of one node, with the node id and a field prefix filled in."""

    def __init__(self, node_id: str, prefix: str = "") -> None:
        self.node_id = node_id
        self.prefix = prefix
        self.problems: list[FlowProblem] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append(FlowProblem(self.node_id, self.prefix + field, message))

    def check_range(self, field: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            self.add(field, f"must be between {low} and {high}, got {value}")

    def check_not_negative(self, field: str, value: int) -> None:
        if value < 0:
            self.add(field, f"must not be negative, got {value}")

    def check_http_url(self, field: str, url: str) -> None:
        if not url:
            self.add(field, "is empty: set an http:// or https:// URL")
        elif not url.startswith(("http://", "https://")):
            self.add(field, f"must be an http:// or https:// URL, got {url!r}")


def check_node_config(node: flow_pb2.Node, recommender_types: frozenset[str]) -> list[FlowProblem]:
    """Return the problems of the node's config; the graph around it is checked elsewhere."""
    kind = node_kind(node)
    out = ProblemCollector(node.id)
    match kind:
        case "data_source":
            _check_data_source(out, node.data_source)
        case "latest" | "non_personalized" | "collaborative" | "item_to_item" | "user_to_user" | "external":
            if kind not in recommender_types:
                served = ", ".join(sorted(recommender_types)) or "none"
                out.add(kind, f"the candidate service has no {kind} recommender (it serves: {served})")
            _check_recommender(out, kind, getattr(node, kind))
        case "ranker":
            check_ranker(out, node.ranker)
        case "recommend":
            _check_recommend(out, node.recommend)
        case "fallback" | "":
            pass
    return out.problems


def _check_data_source(out: ProblemCollector, config: flow_pb2.DataSourceConfig) -> None:
    out.check_not_negative("positive_feedback_ttl_seconds", config.positive_feedback_ttl_seconds)
    out.check_not_negative("item_ttl_seconds", config.item_ttl_seconds)
    for field in ("positive_feedback_types", "read_feedback_types", "negative_feedback_types"):
        if any(not name for name in getattr(config, field)):
            out.add(field, "contains an empty feedback type")
    both = sorted(set(config.positive_feedback_types) & set(config.negative_feedback_types))
    if both:
        out.add("negative_feedback_types", f"feedback types {both} are also positive feedback types")


def _check_recommender(out: ProblemCollector, kind: str, config: object) -> None:
    limits_config: flow_pb2.SourceLimits = config.limits  # type: ignore[attr-defined]
    out.check_range(f"{kind}.limits.candidates", limits_config.candidates, 0, limits.MAX_CANDIDATES)
    out.check_range(f"{kind}.limits.quota", limits_config.quota, 0, limits.MAX_QUOTA)
    match config:
        case flow_pb2.LatestConfig():
            out.check_not_negative("latest.item_ttl_seconds", config.item_ttl_seconds)
        case flow_pb2.NonPersonalizedConfig():
            out.check_not_negative("non_personalized.window_seconds", config.window_seconds)
            out.check_not_negative("non_personalized.min_count", config.min_count)
        case flow_pb2.ItemToItemConfig():
            _check_similarity(out, "item_to_item.similarity", config.similarity)
            out.check_range("item_to_item.context_size", config.context_size, 0, limits.MAX_CONTEXT_SIZE)
        case flow_pb2.UserToUserConfig():
            _check_similarity(out, "user_to_user.similarity", config.similarity)
            out.check_range("user_to_user.neighbors", config.neighbors, 0, limits.MAX_NEIGHBORS)
        case flow_pb2.ExternalConfig():
            out.check_http_url("external.url", config.url)
            out.check_range("external.timeout_ms", config.timeout_ms, 1, limits.MAX_TIMEOUT_MS)


def _check_similarity(out: ProblemCollector, field: str, value: int) -> None:
    if value not in flow_pb2.Similarity.values():
        out.add(field, f"unknown similarity {value}")


def _check_recommend(out: ProblemCollector, config: flow_pb2.RecommendConfig) -> None:
    out.check_range("recommend.cache_size", config.cache_size, 0, limits.MAX_CACHE_SIZE)
    out.check_range("recommend.context_size", config.context_size, 0, limits.MAX_CONTEXT_SIZE)
    out.check_range("recommend.max_n", config.max_n, 1, limits.MAX_N_CAP)
    if config.default_n < 1:
        out.add("recommend.default_n", f"must be at least 1, got {config.default_n}")
    elif config.default_n > config.max_n:
        out.add("recommend.default_n", f"must not exceed max_n ({config.max_n}), got {config.default_n}")


def check_ranker(out: ProblemCollector, config: flow_pb2.RankerConfig, field: str = "ranker.") -> None:
    """Check one ranker config; switch branches recurse into this with their own field prefix."""
    if config.type not in KNOWN_RANKER_TYPES:
        out.add(f"{field}type", f"must be none, fm, llm or switch, got {_ranker_name(config.type)}")
    if config.fallback not in FALLBACK_RANKER_TYPES:
        out.add(f"{field}fallback", f"must be none or fm, got {_ranker_name(config.fallback)}")

    is_llm = config.type == flow_pb2.RANKER_TYPE_LLM
    _check_template(out, f"{field}query_template", config.query_template, required=is_llm)
    _check_template(out, f"{field}document_template", config.document_template, required=is_llm)
    out.check_not_negative(f"{field}timeout_ms", config.timeout_ms)
    out.check_not_negative(f"{field}connect_timeout_ms", config.connect_timeout_ms)
    out.check_range(f"{field}breaker_failures", config.breaker_failures, 0, limits.MAX_BREAKER_FAILURES)
    out.check_range(
        f"{field}breaker_reset_seconds", config.breaker_reset_seconds, 0, limits.MAX_BREAKER_RESET_SECONDS
    )
    if is_llm:
        out.check_http_url(f"{field}reranker_api.url", config.reranker_api.url)
        out.check_range(f"{field}timeout_ms", config.timeout_ms, 1, limits.MAX_TIMEOUT_MS)
        out.check_range(f"{field}connect_timeout_ms", config.connect_timeout_ms, 1, limits.MAX_TIMEOUT_MS)
        out.check_range(f"{field}max_documents", config.max_documents, 1, limits.MAX_DOCUMENTS)
        if config.breaker_failures > 0 and config.breaker_reset_seconds < 1:
            out.add(f"{field}breaker_reset_seconds", "must be at least 1 when breaker_failures is set")

    if config.type == flow_pb2.RANKER_TYPE_SWITCH:
        if config.fallback not in (flow_pb2.RANKER_TYPE_UNSPECIFIED, flow_pb2.RANKER_TYPE_NONE):
            # Each branch's ranker carries its own fallback; the switch would only hide which one applies.
            out.add(
                f"{field}fallback",
                f"a switch ranker has no fallback of its own, got {_ranker_name(config.fallback)}: "
                "set fallback on the ranker of each branch instead",
            )
        check_switch_branches(out, config.branches, field)
    elif config.branches:
        out.add(f"{field}branches", "only a switch ranker has branches: set type to switch or remove them")


def check_switch_branches(
    out: ProblemCollector, branches: Sequence[flow_pb2.SwitchBranch], field: str
) -> None:
    """Check the branches of a switch ranker: their bounds (see recmesh.flow.switch_branches) and rankers."""
    if len(branches) > limits.MAX_SWITCH_BRANCHES:
        out.add(
            f"{field}branches", f"has {len(branches)} branches; the limit is {limits.MAX_SWITCH_BRANCHES}"
        )
        return
    for problem in find_branch_problems([branch_bounds(branch) for branch in branches]):
        out.add(problem.key(field), problem.message)

    for index, branch in enumerate(branches):
        where = f"{field}branches[{index}].ranker."
        if branch.ranker.type not in BRANCH_RANKER_TYPES:
            out.add(f"{where}type", f"must be none, fm or llm, got {_ranker_name(branch.ranker.type)}")
        else:
            check_ranker(out, branch.ranker, where)


def branch_bounds(branch: flow_pb2.SwitchBranch) -> BranchBounds:
    """Return the bounds of a branch; a count left unspecified is the empty string."""
    return BranchBounds(HISTORY_COUNTS.get(branch.count, ""), branch.min_count, branch.max_count)


def _check_template(out: ProblemCollector, field: str, source: str, required: bool) -> None:
    if not source:
        if required:
            out.add(field, "is empty: an llm ranker needs a query and a document template")
        return
    size = len(source.encode("utf-8"))
    if size > limits.MAX_TEMPLATE_BYTES:
        out.add(field, f"is {size} bytes long; the limit is {limits.MAX_TEMPLATE_BYTES} bytes")
        return
    try:
        compile_template(source, field)
    except TemplateCompileError as exc:
        cause = exc.__cause__
        if isinstance(cause, jinja2.TemplateSyntaxError):
            out.add(field, f"does not compile: line {cause.lineno}: {cause.message}")
        else:
            out.add(field, f"does not compile: {exc}")


def _ranker_name(value: int) -> str:
    if value in flow_pb2.RankerType.values():
        return flow_pb2.RankerType.Name(value).removeprefix("RANKER_TYPE_").lower()
    return str(value)
