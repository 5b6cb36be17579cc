from __future__ import annotations

import re

from recmesh.config import load_config
from recmesh.flow.default import flow_from_config
from recmesh.flow.mermaid import flow_to_mermaid
from recmesh.v1 import flow_pb2
from tests.flow.flows import small_flow


def node_names(diagram: str) -> dict[str, str]:
    """Map each node id shown in a label to its Mermaid name."""
    return {label: name for name, label in re.findall(r"^\s+(n\d+)\W+([^<\"]+)<br/>", diagram, re.MULTILINE)}


def test_diagram_has_every_node_and_edge() -> None:
    graph = flow_from_config(load_config(env={}).recommend)

    diagram = flow_to_mermaid(graph)
    names = node_names(diagram)

    assert diagram.startswith("flowchart LR\n")
    assert set(names) == {n.id for n in graph.nodes}
    for edge in graph.edges:
        pattern = rf"^\s+{names[edge.source]} -->(\|\d+\|)? {names[edge.target]}$"
        assert re.search(pattern, diagram, re.MULTILINE), f"edge {edge.source} → {edge.target} missing"


def test_edges_into_ranker_carry_merge_order() -> None:
    diagram = flow_to_mermaid(small_flow())
    names = node_names(diagram)

    assert f"{names['popular']} -->|1| {names['ranker']}" in diagram
    assert f"{names['latest']} -->|2| {names['ranker']}" in diagram
    assert f"{names['latest']} -->|1| {names['fallback']}" in diagram
    assert f"{names['data_source']} --> {names['popular']}" in diagram


def test_quotes_in_ids_are_escaped() -> None:
    graph = small_flow()
    graph.nodes.add(id='say "end"', latest=flow_pb2.LatestConfig())
    graph.edges.add(source="ghost", target='say "end"')

    diagram = flow_to_mermaid(graph)

    assert "say #quot;end#quot;" in diagram
    assert 'say "end"' not in diagram
    assert "ghost<br/>unknown node" in diagram


def test_switch_ranker_lists_branches() -> None:
    graph = small_flow()
    ranker = next(n for n in graph.nodes if n.id == "ranker").ranker
    ranker.type = flow_pb2.RANKER_TYPE_SWITCH
    ranker.branches.add(
        count=flow_pb2.HISTORY_COUNT_POSITIVE,
        max_count=20,
        ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_LLM),
    )
    ranker.branches.add(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM))

    diagram = flow_to_mermaid(graph)

    assert "ranker: switch (positive #lt; 20: llm; default: fm)" in diagram
