"""Node kinds of a FlowGraph and the edges allowed between them.

A node's kind is the name of the `config` oneof case it sets. The executor
relies on these edge conventions. The data source feeds each recommender.
Recommenders feed the ranker (merge order is edge order) and the fallback
(fill order is edge order). The ranker and the fallback feed the recommend
node. A flow without a ranker may join recommenders to the recommend node
directly, and their items are served in edge order.
"""

from __future__ import annotations

from recmesh.v1 import flow_pb2

DATA_SOURCE = "data_source"
RANKER = "ranker"
FALLBACK = "fallback"
RECOMMEND = "recommend"

# Every recommender the candidate service can implement, as oneof case names.
RECOMMENDER_KINDS = frozenset(
    {"latest", "non_personalized", "collaborative", "item_to_item", "user_to_user", "external"}
)

# Node kinds an edge may leave (key), each with the kinds that edge may enter (value).
ALLOWED_TARGETS: dict[str, frozenset[str]] = {
    DATA_SOURCE: RECOMMENDER_KINDS,
    **dict.fromkeys(RECOMMENDER_KINDS, frozenset({RANKER, FALLBACK, RECOMMEND})),
    RANKER: frozenset({RECOMMEND}),
    FALLBACK: frozenset({RECOMMEND}),
    RECOMMEND: frozenset(),
}


def node_kind(node: flow_pb2.Node) -> str:
    """Return the node's config case name, or "" when no config is set."""
    return node.WhichOneof("config") or ""


def is_recommender(kind: str) -> bool:
    return kind in RECOMMENDER_KINDS


def input_ids(graph: flow_pb2.FlowGraph, target: str) -> list[str]:
    """Return the ids of the nodes with an edge into target, in edge order (the merge or fill order)."""
    return [edge.source for edge in graph.edges if edge.target == target]


def nodes_of_kind(graph: flow_pb2.FlowGraph, kind: str) -> list[flow_pb2.Node]:
    return [node for node in graph.nodes if node_kind(node) == kind]
