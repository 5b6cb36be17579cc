"""Small hand-made flows shared by the flow and gateway tests."""

from __future__ import annotations

from recmesh.v1 import flow_pb2


def small_flow() -> flow_pb2.FlowGraph:
    """A valid flow: data source → popular, latest → fm ranker; latest → fallback; both → recommend."""
    graph = flow_pb2.FlowGraph()
    graph.nodes.add(id="data_source", data_source=flow_pb2.DataSourceConfig(positive_feedback_types=["like"]))
    graph.nodes.add(
        id="popular",
        non_personalized=flow_pb2.NonPersonalizedConfig(
            name="popular", limits=flow_pb2.SourceLimits(candidates=50), window_seconds=604800
        ),
    )
    graph.nodes.add(id="latest", latest=flow_pb2.LatestConfig(limits=flow_pb2.SourceLimits(candidates=20)))
    graph.nodes.add(id="ranker", ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM))
    graph.nodes.add(id="fallback", fallback=flow_pb2.FallbackConfig())
    graph.nodes.add(id="recommend", recommend=flow_pb2.RecommendConfig(default_n=10, max_n=100))
    for source, target in (
        ("data_source", "popular"),
        ("data_source", "latest"),
        ("popular", "ranker"),
        ("latest", "ranker"),
        ("latest", "fallback"),
        ("ranker", "recommend"),
        ("fallback", "recommend"),
    ):
        graph.edges.add(source=source, target=target)
    return graph


def llm_ranker() -> flow_pb2.RankerConfig:
    return flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_LLM,
        query_template="{{ user.comment }}",
        document_template="{{ item.comment }}",
        reranker_api=flow_pb2.RerankerApi(url="http://127.0.0.1:8089/v1/rerank", model="m"),
        timeout_ms=1500,
        connect_timeout_ms=300,
        max_documents=100,
        fallback=flow_pb2.RANKER_TYPE_FM,
    )


def node(graph: flow_pb2.FlowGraph, node_id: str) -> flow_pb2.Node:
    return next(n for n in graph.nodes if n.id == node_id)
