"""The parts of a flow graph that Recommend uses, read once per flow version."""

from __future__ import annotations

from dataclasses import dataclass

from recmesh.v1 import flow_pb2

RECOMMENDER_TYPES = frozenset(
    {"latest", "non_personalized", "collaborative", "item_to_item", "user_to_user", "external"}
)


@dataclass(frozen=True)
class FlowPlan:
    version: int
    data_source: flow_pb2.DataSourceConfig
    # Recommender nodes feeding the ranker, in merge order.
    sources: tuple[flow_pb2.Node, ...]
    # Recommender nodes feeding the fallback, in fill order.
    fallback_sources: tuple[flow_pb2.Node, ...]
    ranker_id: str
    ranker: flow_pb2.RankerConfig
    recommend: flow_pb2.RecommendConfig


def plan_flow(graph: flow_pb2.FlowGraph) -> FlowPlan:
    """Read the plan from a graph that passed validation; raise ValueError if it lacks a part."""
    nodes = {node.id: node for node in graph.nodes}
    kinds = {node.id: node.WhichOneof("config") for node in graph.nodes}

    def single(kind: str) -> flow_pb2.Node | None:
        found = [node for node in graph.nodes if kinds[node.id] == kind]
        return found[0] if found else None

    data_source = single("data_source")
    recommend = single("recommend")
    if data_source is None or recommend is None:
        raise ValueError(f"flow version {graph.version} has no data_source or no recommend node")
    ranker = single("ranker")
    fallback = single("fallback")

    def feeding(target: flow_pb2.Node | None) -> tuple[flow_pb2.Node, ...]:
        if target is None:
            return ()
        sources = [edge.source for edge in graph.edges if edge.target == target.id]
        return tuple(nodes[s] for s in dict.fromkeys(sources) if kinds.get(s) in RECOMMENDER_TYPES)

    ranker_config = (
        ranker.ranker if ranker is not None else flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE)
    )
    sources = feeding(ranker) if ranker is not None else feeding(recommend)
    return FlowPlan(
        version=graph.version,
        data_source=data_source.data_source,
        sources=sources,
        fallback_sources=feeding(fallback),
        ranker_id=ranker.id if ranker is not None else "",
        ranker=ranker_config,
        recommend=recommend.recommend,
    )
