"""A FlowGraph as a Mermaid `flowchart LR` diagram, for READMEs, wikis and flow editors."""

from __future__ import annotations

from recmesh.flow.graph import RECOMMENDER_KINDS, node_kind
from recmesh.flow.node_checks import branch_bounds
from recmesh.v1 import flow_pb2

# Mermaid shape delimiters by node kind: a cylinder for the data source, a hexagon for the ranker.
SHAPES = {
    "data_source": ('[("', '")]'),
    "ranker": ('{{"', '"}}'),
    "fallback": ('[/"', '"/]'),
    "recommend": ('(["', '"])'),
    "": ('["', '"]'),
}
RECOMMENDER_SHAPE = ('("', '")')


def flow_to_mermaid(graph: flow_pb2.FlowGraph) -> str:
    """Return the diagram. Edges into the ranker and the fallback carry their merge or fill position.

    Mermaid node names are generated (n0, n1, …) because Mermaid rejects some node ids as names,
    such as ids with quotes or the word `end`. The labels show the ids.
    """
    lines = ["flowchart LR"]
    names: dict[str, str] = {}
    for node in graph.nodes:
        if node.id in names:
            continue
        names[node.id] = f"n{len(names)}"
        lines.append(f"    {names[node.id]}{_shape(node)}")

    for edge in graph.edges:
        for node_id in (edge.source, edge.target):
            if node_id not in names:
                names[node_id] = f"n{len(names)}"
                lines.append(f'    {names[node_id]}["{_escape(node_id)}<br/>unknown node"]')

    ordered = {node.id for node in graph.nodes if node_kind(node) in ("ranker", "fallback")}
    positions: dict[str, int] = {}
    for edge in graph.edges:
        arrow = "-->"
        if edge.target in ordered:
            positions[edge.target] = positions.get(edge.target, 0) + 1
            arrow = f"-->|{positions[edge.target]}|"
        lines.append(f"    {names[edge.source]} {arrow} {names[edge.target]}")
    return "\n".join(lines) + "\n"


def _shape(node: flow_pb2.Node) -> str:
    kind = node_kind(node)
    opening, closing = RECOMMENDER_SHAPE if kind in RECOMMENDER_KINDS else SHAPES.get(kind, SHAPES[""])
    return f"{opening}{_escape(node.id)}<br/>{_escape(_describe(node))}{closing}"


def _describe(node: flow_pb2.Node) -> str:
    kind = node_kind(node)
    if not kind:
        return "no config"
    if kind == "ranker":
        if node.ranker.type not in flow_pb2.RankerType.values():
            return f"ranker: type {node.ranker.type}"
        ranker_type = _ranker_name(node.ranker.type)
        if node.ranker.type == flow_pb2.RANKER_TYPE_SWITCH:
            branches = [
                f"{branch_bounds(branch).describe()}: {_ranker_name(branch.ranker.type)}"
                for branch in node.ranker.branches
            ]
            return f"ranker: switch ({'; '.join(branches)})"
        return f"ranker: {ranker_type}"
    return kind.replace("_", " ")


def _ranker_name(value: int) -> str:
    if value not in flow_pb2.RankerType.values():
        return f"type {value}"
    return flow_pb2.RankerType.Name(value).removeprefix("RANKER_TYPE_").lower()


def _escape(text: str) -> str:
    # Mermaid reads HTML entities in quoted labels; a raw quote would end the label.
    return (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )
