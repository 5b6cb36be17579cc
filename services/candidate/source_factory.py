"""Building a recommender from its flow node. Each node type maps to one builder in SOURCE_BUILDERS."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from recmesh.model_store import ModelStore
from recmesh.storage import Store
from recmesh.training.candidate_models import CandidateModels
from recmesh.v1 import flow_pb2
from services.candidate.collaborative_source import CollaborativeSource
from services.candidate.external_source import ExternalSource
from services.candidate.item_to_item_source import ItemToItemSource
from services.candidate.source import Source
from services.candidate.user_to_user_source import UserToUserSource

SourceBuilder = Callable[[flow_pb2.Node, ModelStore[CandidateModels], Store, aiohttp.ClientSession], Source]

SIMILARITY_NAMES = {
    flow_pb2.SIMILARITY_UNSPECIFIED: "co_occurrence",
    flow_pb2.SIMILARITY_CO_OCCURRENCE: "co_occurrence",
    flow_pb2.SIMILARITY_ATTRIBUTES: "attributes",
    flow_pb2.SIMILARITY_EMBEDDING: "embedding",
}
# Values a node leaves at 0 take these defaults.
DEFAULT_CONTEXT_SIZE = 10
DEFAULT_NEIGHBORS = 20
DEFAULT_TIMEOUT_MS = 500


def build_collaborative(
    node: flow_pb2.Node,
    models: ModelStore[CandidateModels],
    store: Store,
    http_session: aiohttp.ClientSession,
) -> Source:
    return CollaborativeSource(node.id, models)


def build_item_to_item(
    node: flow_pb2.Node,
    models: ModelStore[CandidateModels],
    store: Store,
    http_session: aiohttp.ClientSession,
) -> Source:
    config = node.item_to_item
    return ItemToItemSource(
        node.id,
        models,
        similarity=_similarity(node, config.similarity),
        context_size=config.context_size or DEFAULT_CONTEXT_SIZE,
    )


def build_user_to_user(
    node: flow_pb2.Node,
    models: ModelStore[CandidateModels],
    store: Store,
    http_session: aiohttp.ClientSession,
) -> Source:
    config = node.user_to_user
    return UserToUserSource(
        node.id,
        models,
        similarity=_similarity(node, config.similarity),
        neighbors=config.neighbors or DEFAULT_NEIGHBORS,
    )


def build_external(
    node: flow_pb2.Node,
    models: ModelStore[CandidateModels],
    store: Store,
    http_session: aiohttp.ClientSession,
) -> Source:
    config = node.external
    return ExternalSource(node.id, config.url, config.timeout_ms or DEFAULT_TIMEOUT_MS, http_session)


# Keyed by the name of the node's `config` oneof field.
SOURCE_BUILDERS: dict[str, SourceBuilder] = {
    "collaborative": build_collaborative,
    "item_to_item": build_item_to_item,
    "user_to_user": build_user_to_user,
    "external": build_external,
}


def build_source(
    node: flow_pb2.Node,
    models: ModelStore[CandidateModels],
    store: Store,
    http_session: aiohttp.ClientSession,
) -> Source:
    """Build the recommender a flow node describes; raise ValueError for a node that is not a recommender."""
    node_type = node.WhichOneof("config")
    builder = SOURCE_BUILDERS.get(node_type or "")
    if builder is None:
        raise ValueError(
            f"node {node.id!r} of type {node_type or 'none'} is not a recommender this service can build; "
            f"known types: {', '.join(sorted(SOURCE_BUILDERS))}"
        )
    return builder(node, models, store, http_session)


def _similarity(node: flow_pb2.Node, value: int) -> str:
    name = SIMILARITY_NAMES.get(value)
    if name is None:
        raise ValueError(f"node {node.id!r}: unknown similarity value {value}")
    return name
