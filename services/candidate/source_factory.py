"""Build recommenders from flow nodes, and keep them across requests of the same flow."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from recmesh.model_store import ModelStore
from recmesh.storage import Store
from recmesh.training.candidate_models import CandidateModels
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from services.candidate.collaborative_source import CollaborativeSource
from services.candidate.external_source import ExternalSource
from services.candidate.item_to_item_source import ItemToItemSource
from services.candidate.latest_source import LatestSource
from services.candidate.popular_source import NonPersonalizedSource
from services.candidate.source import Source
from services.candidate.user_to_user_source import UserToUserSource

DEFAULT_CANDIDATES = 100
# Values a node leaves at 0 take these defaults.
DEFAULT_CONTEXT_SIZE = 10
DEFAULT_NEIGHBORS = 20
DEFAULT_TIMEOUT_MS = 500

SIMILARITY_NAMES = {
    flow_pb2.SIMILARITY_UNSPECIFIED: "co_occurrence",
    flow_pb2.SIMILARITY_CO_OCCURRENCE: "co_occurrence",
    flow_pb2.SIMILARITY_ATTRIBUTES: "attributes",
    flow_pb2.SIMILARITY_EMBEDDING: "embedding",
}


@dataclass
class SourceDeps:
    """Dependencies recommenders need besides their node's config. The gateway has no trained models and
    no HTTP session, so it can build only the recommenders in STORE_ONLY_TYPES."""

    store: Store
    types: FeedbackTypes
    models: ModelStore[CandidateModels] | None = None
    http_session: aiohttp.ClientSession | None = None

    def require_models(self, node: flow_pb2.Node) -> ModelStore[CandidateModels]:
        if self.models is None:
            raise UnknownSourceType(f"node {node.id!r}: this service has no trained models")
        return self.models


class UnknownSourceType(ValueError):
    """A node names a recommender type this service does not have."""


def _similarity(node: flow_pb2.Node, value: int) -> str:
    name = SIMILARITY_NAMES.get(value)
    if name is None:
        raise ValueError(f"node {node.id!r}: unknown similarity value {value}")
    return name


def build_latest(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    ttl = node.latest.item_ttl_seconds or deps.types.item_ttl_seconds
    return LatestSource(node.id, deps.store, item_ttl_seconds=ttl)


def build_non_personalized(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    config = node.non_personalized
    return NonPersonalizedSource(
        node.id,
        deps.store,
        feedback_types=list(config.feedback_types) or list(deps.types.positive),
        window_seconds=config.window_seconds,
        min_count=config.min_count,
        categories=list(config.categories),
    )


def build_collaborative(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    return CollaborativeSource(node.id, deps.require_models(node))


def build_item_to_item(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    config = node.item_to_item
    return ItemToItemSource(
        node.id,
        deps.require_models(node),
        similarity=_similarity(node, config.similarity),
        context_size=config.context_size or DEFAULT_CONTEXT_SIZE,
    )


def build_user_to_user(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    config = node.user_to_user
    return UserToUserSource(
        node.id,
        deps.require_models(node),
        similarity=_similarity(node, config.similarity),
        neighbors=config.neighbors or DEFAULT_NEIGHBORS,
    )


def build_external(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    if deps.http_session is None:
        raise UnknownSourceType(f"node {node.id!r}: this service has no HTTP client for external sources")
    config = node.external
    return ExternalSource(node.id, config.url, config.timeout_ms or DEFAULT_TIMEOUT_MS, deps.http_session)


# Keyed by the name of the node's `config` oneof field.
BUILDERS: dict[str, Callable[[flow_pb2.Node, SourceDeps], Source]] = {
    "latest": build_latest,
    "non_personalized": build_non_personalized,
    "collaborative": build_collaborative,
    "item_to_item": build_item_to_item,
    "user_to_user": build_user_to_user,
    "external": build_external,
}
# Recommenders that need nothing but the store, which the gateway can run when the candidate service is down.
STORE_ONLY_TYPES = frozenset({"latest", "non_personalized"})


def source_limits(node: flow_pb2.Node) -> flow_pb2.SourceLimits:
    config = getattr(node, node.WhichOneof("config") or "latest")
    return config.limits if hasattr(config, "limits") else flow_pb2.SourceLimits()


def build_source(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    """Build the recommender a flow node describes; raise UnknownSourceType for any other node."""
    kind = node.WhichOneof("config")
    builder = BUILDERS.get(kind or "")
    if builder is None:
        raise UnknownSourceType(
            f"node {node.id!r}: recommender type {kind!r} is not supported; "
            f"supported types: {', '.join(sorted(BUILDERS))}"
        )
    return builder(node, deps)


class SourceCache:
    """Recommenders keyed by their node's serialized bytes, so a flow's sources (and their caches)
    are built once and a changed node gets a new recommender."""

    def __init__(self, deps: SourceDeps, max_entries: int = 256) -> None:
        self.deps = deps
        self.max_entries = max_entries
        self._sources: OrderedDict[bytes, Source] = OrderedDict()

    def get(self, node: flow_pb2.Node) -> Source:
        key = node.SerializeToString(deterministic=True)
        source = self._sources.get(key)
        if source is not None:
            self._sources.move_to_end(key)
            return source
        source = build_source(node, self.deps)
        self._sources[key] = source
        if len(self._sources) > self.max_entries:
            self._sources.popitem(last=False)
        return source
