"""The gateway's live flow: validated saves, versions, rollback and hot reload from the store.

Every gateway replica runs one FlowManager against the shared store. A replica that saves a flow
serves it at once; the others see it the next time their reload loop polls the store.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from recmesh.flow.graph import RECOMMENDER_KINDS
from recmesh.flow.problems import FlowProblem, FlowValidationError
from recmesh.flow.validate import validate_flow
from recmesh.storage import Store, StoreError
from recmesh.v1 import flow_pb2
from services.gateway.flow_metrics import FLOW_RELOADS, FLOW_VERSION

log = logging.getLogger(__name__)

DEFAULT_VERSION = 0


@dataclass(frozen=True, slots=True)
class FlowSnapshot:
    """One flow version, used by a request from start to finish.

    The graph is shared by every request on this version, so callers must not modify it.
    """

    graph: flow_pb2.FlowGraph
    version: int


@dataclass(frozen=True, slots=True)
class FlowVersionInfo:
    version: int
    created_at: int
    comment: str
    live: bool


class FlowVersionNotFound(KeyError):
    """No saved flow has the requested version."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version

    def __str__(self) -> str:
        return f"flow version {self.version} not found: `recmesh flow versions` lists the saved versions"


class StoredFlowError(ValueError):
    """A saved flow's bytes do not parse as a FlowGraph."""


class FlowManager:
    """Holds the live flow as an immutable snapshot and changes it through the store.

    The synchronous methods call the store and may block, so async code runs them with
    asyncio.to_thread. current() never blocks: it reads one attribute, which a swap replaces whole.
    """

    def __init__(
        self,
        store: Store,
        default_flow: flow_pb2.FlowGraph,
        reload_seconds: float,
        recommender_types: frozenset[str] = RECOMMENDER_KINDS,
    ) -> None:
        if reload_seconds <= 0:
            raise ValueError(f"reload_seconds must be positive, got {reload_seconds}")
        self._store = store
        self._reload_seconds = reload_seconds
        self._recommender_types = recommender_types

        default = flow_pb2.FlowGraph()
        default.CopyFrom(default_flow)
        default.version = DEFAULT_VERSION
        for problem in self.validate(default):
            # The gateway must start even so: the configuration file's flow is all it has.
            log.warning("the configuration file's flow is invalid: %s", problem)
        self._default = FlowSnapshot(default, DEFAULT_VERSION)
        self._current = self._default
        FLOW_VERSION.set(DEFAULT_VERSION)

        # Serializes the changes of this replica, so a reload cannot undo a save that raced it.
        self._lock = threading.Lock()
        self._rejected_version: int | None = None
        self._store_failing = False

    def current(self) -> FlowSnapshot:
        return self._current

    def validate(self, graph: flow_pb2.FlowGraph) -> list[FlowProblem]:
        return validate_flow(graph, self._recommender_types)

    def set_flow(self, graph: flow_pb2.FlowGraph, comment: str = "") -> int:
        """Validate graph, save it under a new version and make it live; return the version.

        Raises FlowValidationError listing every problem, leaving the live flow unchanged.
        """
        problems = self.validate(graph)
        if problems:
            raise FlowValidationError(problems)

        stored = flow_pb2.FlowGraph()
        stored.CopyFrom(graph)
        stored.version = 0
        stored.created_at = 0
        stored.comment = comment
        with self._lock:
            saved = self._store.save_flow(stored.SerializeToString(), comment)
            stored.version = saved.version
            stored.created_at = saved.created_at
            self._swap(FlowSnapshot(stored, saved.version), "saved through the admin API")
        return saved.version

    def reset(self) -> FlowSnapshot:
        """Make the configuration file's flow (version 0) live again."""
        with self._lock:
            self._store.set_live_flow(DEFAULT_VERSION)
            self._swap(self._default, "reset to the configuration file's flow")
        return self._default

    def rollback(self, version: int) -> int:
        """Make a saved version live again; version 0 is the configuration file's flow.

        Raises FlowVersionNotFound for an unknown version, and StoredFlowError or FlowValidationError
        when the saved flow no longer parses or validates (say, a recommender type was removed).
        """
        if version == DEFAULT_VERSION:
            self.reset()
            return DEFAULT_VERSION
        with self._lock:
            snapshot = self._load_saved(version)
            try:
                self._store.set_live_flow(version)
            except KeyError as exc:
                raise FlowVersionNotFound(version) from exc
            self._swap(snapshot, f"rolled back to version {version}")
        return version

    def list_versions(self, limit: int = 50) -> list[FlowVersionInfo]:
        """Return up to limit saved versions, newest first; version 0 is not stored and not listed."""
        live = self._store.live_flow_version()
        return [
            FlowVersionInfo(saved.version, saved.created_at, saved.comment, saved.version == live)
            for saved in self._store.list_flows(limit)
        ]

    def get(self, version: int) -> FlowSnapshot:
        """Return a saved version, or the configuration file's flow for version 0."""
        if version == DEFAULT_VERSION:
            return self._default
        if version == self._current.version:
            return self._current
        return self._load_saved(version, check=False)

    def refresh(self) -> bool:
        """Swap to the store's live version when it changed; return whether the flow was swapped.

        A stored flow that does not parse or validate is rejected once, with an error log line, and
        the current flow keeps serving.
        """
        with self._lock:
            try:
                live = self._store.live_flow_version()
                self._note_store_reachable()
                if live == self._current.version:
                    self._rejected_version = None
                    return False
                if live == self._rejected_version:
                    return False
                snapshot = self._default if live == DEFAULT_VERSION else self._load_saved(live)
            except StoreError as exc:
                self._note_store_failure(exc)
                return False
            except (FlowVersionNotFound, StoredFlowError, FlowValidationError) as exc:
                self._rejected_version = live
                FLOW_RELOADS.labels("rejected").inc()
                log.error(
                    "rejected stored flow version %d, still serving version %d: %s",
                    live,
                    self._current.version,
                    exc,
                )
                return False

            self._swap(snapshot, "reloaded from the store")
            FLOW_RELOADS.labels("swapped").inc()
            return True

    async def run_reload_loop(self) -> None:
        """Poll the store every reload_seconds until cancelled."""
        while True:
            await asyncio.sleep(self._reload_seconds)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                # refresh() handles the store's and the flow's errors. Anything else is a bug, and
                # the loop must outlive it so that later versions are still picked up.
                FLOW_RELOADS.labels("error").inc()
                log.exception("flow reload failed; still serving version %d", self._current.version)

    def _load_saved(self, version: int, check: bool = True) -> FlowSnapshot:
        saved = self._store.get_flow(version)
        if saved is None:
            raise FlowVersionNotFound(version)

        graph = flow_pb2.FlowGraph()
        try:
            graph.ParseFromString(saved.data)
        except DecodeError as exc:
            raise StoredFlowError(f"stored flow version {version} is not a valid FlowGraph: {exc}") from exc
        graph.version = saved.version
        graph.created_at = saved.created_at
        graph.comment = saved.comment

        if check:
            problems = self.validate(graph)
            if problems:
                raise FlowValidationError(problems)
        return FlowSnapshot(graph, saved.version)

    def _swap(self, snapshot: FlowSnapshot, reason: str) -> None:
        previous = self._current.version
        self._current = snapshot
        FLOW_VERSION.set(snapshot.version)
        if previous != snapshot.version:
            log.info("flow version changed from %d to %d (%s)", previous, snapshot.version, reason)

    def _note_store_failure(self, exc: StoreError) -> None:
        FLOW_RELOADS.labels("store_unavailable").inc()
        if not self._store_failing:
            # Logged once per outage; the counter records every failed poll.
            log.warning(
                "cannot check the store for a new flow, still serving version %d: %s",
                self._current.version,
                exc,
            )
        self._store_failing = True

    def _note_store_reachable(self) -> None:
        if self._store_failing:
            log.info("the store is reachable again; flow reloads resume")
        self._store_failing = False
