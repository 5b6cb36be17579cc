"""Compile the config file's [recommend] sections into the default FlowGraph (version 0)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recmesh.config import RankerSettings, RecommendSettings, SourceSettings
from recmesh.v1 import flow_pb2

DATA_SOURCE_ID = "data_source"
RANKER_ID = "ranker"
FALLBACK_ID = "fallback"
RECOMMEND_ID = "recommend"

RANKER_TYPES = {
    "none": flow_pb2.RANKER_TYPE_NONE,
    "fm": flow_pb2.RANKER_TYPE_FM,
    "llm": flow_pb2.RANKER_TYPE_LLM,
    "switch": flow_pb2.RANKER_TYPE_SWITCH,
}
HISTORY_COUNTS = {"positive": flow_pb2.HISTORY_COUNT_POSITIVE, "all": flow_pb2.HISTORY_COUNT_ALL}
SIMILARITIES = {
    "co_occurrence": flow_pb2.SIMILARITY_CO_OCCURRENCE,
    "attributes": flow_pb2.SIMILARITY_ATTRIBUTES,
    "embedding": flow_pb2.SIMILARITY_EMBEDDING,
}


def source_node(source: SourceSettings) -> flow_pb2.Node:
    """Build the recommender node of one [[recommend.sources]] entry."""
    params: Mapping[str, Any] = source.params
    limits = flow_pb2.SourceLimits(candidates=source.candidates, quota=source.quota)
    node = flow_pb2.Node(id=source.name)
    similarity = SIMILARITIES.get(
        params.get("similarity", "co_occurrence"), flow_pb2.SIMILARITY_CO_OCCURRENCE
    )
    match source.type:
        case "latest":
            node.latest.CopyFrom(
                flow_pb2.LatestConfig(limits=limits, item_ttl_seconds=int(params.get("item_ttl_seconds", 0)))
            )
        case "non_personalized":
            node.non_personalized.CopyFrom(
                flow_pb2.NonPersonalizedConfig(
                    name=source.name,
                    limits=limits,
                    feedback_types=list(params.get("feedback_types", [])),
                    window_seconds=int(params.get("window_seconds", 0)),
                    min_count=int(params.get("min_count", 0)),
                    categories=list(params.get("categories", [])),
                )
            )
        case "collaborative":
            node.collaborative.CopyFrom(flow_pb2.CollaborativeConfig(name=source.name, limits=limits))
        case "item_to_item":
            node.item_to_item.CopyFrom(
                flow_pb2.ItemToItemConfig(
                    name=source.name,
                    limits=limits,
                    similarity=similarity,
                    context_size=int(params.get("context_size", 10)),
                )
            )
        case "user_to_user":
            node.user_to_user.CopyFrom(
                flow_pb2.UserToUserConfig(
                    name=source.name,
                    limits=limits,
                    similarity=similarity,
                    neighbors=int(params.get("neighbors", 20)),
                )
            )
        case "external":
            node.external.CopyFrom(
                flow_pb2.ExternalConfig(
                    name=source.name,
                    limits=limits,
                    url=str(params.get("url", "")),
                    timeout_ms=int(params.get("timeout_ms", 500)),
                )
            )
        case _:
            raise ValueError(f"unknown recommender type {source.type!r} for source {source.name!r}")
    return node


def ranker_config(ranker: RankerSettings) -> flow_pb2.RankerConfig:
    """Build the ranker node's config. A switch gets only its branches, because each branch's ranker
    carries its own fallback and settings."""
    if ranker.type == "switch":
        switch = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_SWITCH)
        for branch in ranker.branches:
            switch.branches.add(
                count=HISTORY_COUNTS.get(branch.count, flow_pb2.HISTORY_COUNT_UNSPECIFIED),
                min_count=branch.min_count,
                max_count=branch.max_count,
                ranker=ranker_config(branch.ranker),
            )
        return switch
    return flow_pb2.RankerConfig(
        type=RANKER_TYPES[ranker.type],
        query_template=ranker.query_template,
        document_template=ranker.document_template,
        reranker_api=flow_pb2.RerankerApi(url=ranker.reranker_api.url, model=ranker.reranker_api.model),
        timeout_ms=ranker.timeout_ms,
        connect_timeout_ms=ranker.connect_timeout_ms,
        max_documents=ranker.max_documents,
        fallback=RANKER_TYPES[ranker.fallback],
        breaker_failures=ranker.breaker_failures,
        breaker_reset_seconds=ranker.breaker_reset_seconds,
    )


def flow_from_config(settings: RecommendSettings) -> flow_pb2.FlowGraph:
    """Build the flow the config file describes: data source → recommenders → ranker/fallback → recommend."""
    data_source = settings.data_source
    graph = flow_pb2.FlowGraph(version=0, comment="default flow from the configuration file")
    graph.nodes.add(
        id=DATA_SOURCE_ID,
        data_source=flow_pb2.DataSourceConfig(
            positive_feedback_types=data_source.positive_feedback_types,
            read_feedback_types=data_source.read_feedback_types,
            negative_feedback_types=data_source.negative_feedback_types,
            positive_feedback_ttl_seconds=data_source.positive_feedback_ttl_seconds,
            item_ttl_seconds=data_source.item_ttl_seconds,
        ),
    )
    for source in settings.sources:
        graph.nodes.append(source_node(source))
    graph.nodes.add(id=RANKER_ID, ranker=ranker_config(settings.ranker))
    graph.nodes.add(id=FALLBACK_ID, fallback=flow_pb2.FallbackConfig())
    graph.nodes.add(
        id=RECOMMEND_ID,
        recommend=flow_pb2.RecommendConfig(
            cache_size=settings.cache_size,
            context_size=settings.context_size,
            replacement=settings.replacement,
            default_n=settings.default_n,
            max_n=settings.max_n,
            write_back_type=settings.write_back_type,
        ),
    )

    for source in settings.sources:
        graph.edges.add(source=DATA_SOURCE_ID, target=source.name)
    for source in settings.sources:
        graph.edges.add(source=source.name, target=RANKER_ID)
    for name in settings.fallback_sources:
        graph.edges.add(source=name, target=FALLBACK_ID)
    graph.edges.add(source=RANKER_ID, target=RECOMMEND_ID)
    graph.edges.add(source=FALLBACK_ID, target=RECOMMEND_ID)
    return graph
