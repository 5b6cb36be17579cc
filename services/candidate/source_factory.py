"""Build recommenders from flow nodes, and keep them across requests of the same flow."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recmesh.storage import Store
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from services.candidate.latest_source import LatestSource
from services.candidate.popular_source import NonPersonalizedSource
from services.candidate.source import Source

DEFAULT_CANDIDATES = 100


@dataclass
class SourceDeps:
    """What recommenders need besides their node's config."""

    store: Store
    types: FeedbackTypes
    # Trained models and shared HTTP clients, by name; recommenders that need them look them up.
    extras: dict[str, Any]


def _latest(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    ttl = node.latest.item_ttl_seconds or deps.types.item_ttl_seconds
    return LatestSource(node.id, deps.store, item_ttl_seconds=ttl)


def _non_personalized(node: flow_pb2.Node, deps: SourceDeps) -> Source:
    config = node.non_personalized
    return NonPersonalizedSource(
        node.id,
        deps.store,
        feedback_types=list(config.feedback_types) or list(deps.types.positive),
        window_seconds=config.window_seconds,
        min_count=config.min_count,
        categories=list(config.categories),
    )


BUILDERS: dict[str, Callable[[flow_pb2.Node, SourceDeps], Source]] = {
    "latest": _latest,
    "non_personalized": _non_personalized,
}


class UnknownSourceType(ValueError):
    """A node names a recommender type this service does not have."""


def source_limits(node: flow_pb2.Node) -> flow_pb2.SourceLimits:
    config = getattr(node, node.WhichOneof("config") or "latest")
    return config.limits if hasattr(config, "limits") else flow_pb2.SourceLimits()


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
        kind = node.WhichOneof("config")
        builder = BUILDERS.get(kind or "")
        if builder is None:
            raise UnknownSourceType(
                f"node {node.id!r}: recommender type {kind!r} is not supported; "
                f"supported types: {', '.join(sorted(BUILDERS))}"
            )
        source = builder(node, self.deps)
        self._sources[key] = source
        if len(self._sources) > self.max_entries:
            self._sources.popitem(last=False)
        return source
