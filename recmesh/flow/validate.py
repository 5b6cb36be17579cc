"""Validation of a FlowGraph: every problem at once, each naming the node and field at fault."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable

from recmesh.flow import limits
from recmesh.flow.graph import (
    ALLOWED_TARGETS,
    DATA_SOURCE,
    FALLBACK,
    RANKER,
    RECOMMEND,
    RECOMMENDER_KINDS,
    node_kind,
)
from recmesh.flow.node_checks import check_node_config
from recmesh.flow.problems import FlowProblem, FlowValidationError
from recmesh.v1 import flow_pb2

__all__ = ["FlowProblem", "FlowValidationError", "validate_flow"]

# Adjacency lists by node id, in edge order; only edges whose ends both exist.
Adjacency = dict[str, list[str]]


def validate_flow(
    graph: flow_pb2.FlowGraph, recommender_types: frozenset[str] = RECOMMENDER_KINDS
) -> list[FlowProblem]:
    """Return every problem of graph; an empty list means it is valid.

    recommender_types are the recommender kinds (oneof case names, such as "collaborative") that the
    candidate service serves. A node of any other recommender kind is a problem.
    """
    problems = _check_sizes(graph)
    if problems:
        # An oversized graph is not analysed further: that would cost time on hostile input, and
        # thousands of per-node problems would not fit in a status message.
        return problems
    problems += _check_node_ids(graph)
    for node in graph.nodes:
        problems += check_node_config(node, recommender_types)
    problems += _check_node_counts(graph)

    kinds = {node.id: node_kind(node) for node in reversed(graph.nodes) if node.id}
    problems += _check_edges(graph, kinds)
    successors, predecessors = _adjacency(graph, kinds)
    problems += _check_cycles(graph, successors)
    problems += _check_reachability(graph, kinds, successors, predecessors)
    return problems


def ensure_valid(graph: flow_pb2.FlowGraph, recommender_types: frozenset[str] = RECOMMENDER_KINDS) -> None:
    """Raise FlowValidationError listing every problem when graph is invalid."""
    problems = validate_flow(graph, recommender_types)
    if problems:
        raise FlowValidationError(problems)


def _check_sizes(graph: flow_pb2.FlowGraph) -> list[FlowProblem]:
    problems = []
    if len(graph.nodes) > limits.MAX_NODES:
        problems.append(
            FlowProblem("", "nodes", f"has {len(graph.nodes)} nodes; the limit is {limits.MAX_NODES}")
        )
    if len(graph.edges) > limits.MAX_EDGES:
        problems.append(
            FlowProblem("", "edges", f"has {len(graph.edges)} edges; the limit is {limits.MAX_EDGES}")
        )
    return problems


def _check_node_ids(graph: flow_pb2.FlowGraph) -> list[FlowProblem]:
    problems = []
    counts = Counter(node.id for node in graph.nodes)
    reported: set[str] = set()
    for index, node in enumerate(graph.nodes):
        if not node.id:
            problems.append(FlowProblem("", f"nodes[{index}].id", "is empty: every node needs a unique id"))
        elif len(node.id) > limits.MAX_NODE_ID_CHARS:
            problems.append(
                FlowProblem(
                    node.id,
                    "id",
                    f"is {len(node.id)} characters long; the limit is {limits.MAX_NODE_ID_CHARS}",
                )
            )
        if node.id and counts[node.id] > 1 and node.id not in reported:
            reported.add(node.id)
            problems.append(
                FlowProblem(node.id, "id", f"is used by {counts[node.id]} nodes; ids must be unique")
            )
        if not node_kind(node):
            label = node.id or f"nodes[{index}]"
            problems.append(
                FlowProblem(node.id, "config", f"node {label} has no config: set its type and settings")
            )
    return problems


def _check_node_counts(graph: flow_pb2.FlowGraph) -> list[FlowProblem]:
    problems = []
    by_kind: dict[str, list[str]] = {}
    for node in graph.nodes:
        by_kind.setdefault(node_kind(node), []).append(node.id)
    for kind, label in ((DATA_SOURCE, "data source"), (RECOMMEND, "recommend")):
        ids = by_kind.get(kind, [])
        if not ids:
            problems.append(FlowProblem("", "nodes", f"the flow has no {label} node; it needs exactly one"))
        elif len(ids) > 1:
            problems.append(
                FlowProblem(
                    "",
                    "nodes",
                    f"the flow has {len(ids)} {label} nodes ({_names(ids)}); it needs exactly one",
                )
            )
    for kind in (RANKER, FALLBACK):
        ids = by_kind.get(kind, [])
        if len(ids) > 1:
            problems.append(
                FlowProblem(
                    "",
                    "nodes",
                    f"the flow has {len(ids)} {kind} nodes ({_names(ids)}); at most one is allowed",
                )
            )
    return problems


def _check_edges(graph: flow_pb2.FlowGraph, kinds: dict[str, str]) -> list[FlowProblem]:
    problems = []
    seen: set[tuple[str, str]] = set()
    has_ranker = RANKER in kinds.values()
    for index, edge in enumerate(graph.edges):
        label = f"edges[{index}] ({edge.source or '?'} → {edge.target or '?'})"
        known = True
        for end in ("source", "target"):
            node_id = getattr(edge, end)
            if node_id not in kinds:
                known = False
                reason = "is empty" if not node_id else f"names unknown node {node_id!r}"
                problems.append(FlowProblem("", f"edges[{index}].{end}", f"{label}: the {end} {reason}"))
        if not known:
            continue

        pair = (edge.source, edge.target)
        if pair in seen:
            problems.append(FlowProblem(edge.source, f"edges[{index}]", f"{label} is a duplicate edge"))
        seen.add(pair)

        source_kind, target_kind = kinds[edge.source], kinds[edge.target]
        allowed = ALLOWED_TARGETS.get(source_kind, frozenset())
        if source_kind and target_kind and target_kind not in allowed:
            problems.append(
                FlowProblem(
                    edge.source,
                    f"edges[{index}]",
                    f"{label}: a {_kind_label(source_kind)} node cannot feed a "
                    f"{_kind_label(target_kind)} node; it may feed {_allowed_text(allowed)}",
                )
            )
        elif source_kind in RECOMMENDER_KINDS and target_kind == RECOMMEND and has_ranker:
            problems.append(
                FlowProblem(
                    edge.source,
                    f"edges[{index}]",
                    f"{label}: the flow has a ranker, so a recommender feeds the ranker or the fallback, "
                    "not the recommend node",
                )
            )
    return problems


def _adjacency(graph: flow_pb2.FlowGraph, kinds: dict[str, str]) -> tuple[Adjacency, Adjacency]:
    successors: Adjacency = {node_id: [] for node_id in kinds}
    predecessors: Adjacency = {node_id: [] for node_id in kinds}
    for edge in graph.edges:
        if edge.source in kinds and edge.target in kinds:
            successors[edge.source].append(edge.target)
            predecessors[edge.target].append(edge.source)
    return successors, predecessors


def _check_cycles(graph: flow_pb2.FlowGraph, successors: Adjacency) -> list[FlowProblem]:
    problems = []
    order = _node_order(graph)
    for component in _strongly_connected(successors):
        start = min(component, key=order)
        if len(component) == 1 and start not in successors[start]:
            continue
        cycle = _cycle_through(start, component, successors)
        problems.append(FlowProblem(start, "edges", f"the flow has a cycle: {' → '.join(cycle)}"))
    return problems


def _strongly_connected(successors: Adjacency) -> list[set[str]]:
    """Return the strongly connected components (Kosaraju's algorithm, iterative)."""
    finished: list[str] = []
    visited: set[str] = set()
    for root in successors:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next((c for c in children if c not in visited), None)
            if child is None:
                stack.pop()
                finished.append(node)
            else:
                visited.add(child)
                stack.append((child, iter(successors[child])))

    predecessors: Adjacency = {node: [] for node in successors}
    for node, targets in successors.items():
        for target in targets:
            predecessors[target].append(node)

    components = []
    assigned: set[str] = set()
    for root in reversed(finished):
        if root in assigned:
            continue
        component = {root}
        assigned.add(root)
        pending = [root]
        while pending:
            for source in predecessors[pending.pop()]:
                if source not in assigned:
                    assigned.add(source)
                    component.add(source)
                    pending.append(source)
        components.append(component)
    return components


def _cycle_through(start: str, component: set[str], successors: Adjacency) -> list[str]:
    """Return the shortest cycle start → … → start inside one strongly connected component."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in successors[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if child in component and child not in parents:
                parents[child] = node
                queue.append(child)
    return [start, start]


def _check_reachability(
    graph: flow_pb2.FlowGraph, kinds: dict[str, str], successors: Adjacency, predecessors: Adjacency
) -> list[FlowProblem]:
    sources = [node_id for node_id, kind in kinds.items() if kind == DATA_SOURCE]
    sinks = [node_id for node_id, kind in kinds.items() if kind == RECOMMEND]
    reached = _reachable(sources, successors)
    reaching = _reachable(sinks, predecessors)

    problems = []
    order = _node_order(graph)
    for node_id, kind in sorted(kinds.items(), key=lambda item: order(item[0])):
        # A fallback without recommenders fills nothing and is harmless: a config without fallback
        # sources compiles to one.
        if kind == FALLBACK and not predecessors[node_id]:
            continue
        unreached = bool(sources) and kind != DATA_SOURCE and node_id not in reached
        stranded = bool(sinks) and kind != RECOMMEND and node_id not in reaching
        reasons = []
        if unreached:
            reasons.append("no path leads to it from the data source")
        if stranded:
            reasons.append("no path leads from it to the recommend node")
        if reasons:
            problems.append(FlowProblem(node_id, "edges", f"is unreachable: {' and '.join(reasons)}"))
    return problems


def _reachable(roots: Iterable[str], adjacency: Adjacency) -> set[str]:
    seen = set(roots)
    pending = list(seen)
    while pending:
        for child in adjacency[pending.pop()]:
            if child not in seen:
                seen.add(child)
                pending.append(child)
    return seen


def _node_order(graph: flow_pb2.FlowGraph) -> Callable[[str], int]:
    positions: dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        positions.setdefault(node.id, index)
    return lambda node_id: positions.get(node_id, len(positions))


def _kind_label(kind: str) -> str:
    if kind in RECOMMENDER_KINDS:
        return f"recommender ({kind})"
    return kind.replace("_", " ")


def _allowed_text(allowed: frozenset[str]) -> str:
    if not allowed:
        return "nothing"
    if allowed == RECOMMENDER_KINDS:
        return "recommenders only"
    return " or ".join(sorted(_kind_label(kind) for kind in allowed))


def _names(ids: list[str]) -> str:
    return ", ".join(repr(node_id) for node_id in ids)
