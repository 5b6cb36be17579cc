"""The loaded version of one kind of model artifact, kept current by polling the store.

Both the candidate service (candidate-models) and the ranker (fm-ranker) hold their models in a ModelStore.
A swap replaces one reference, so a request that read `current` keeps the model it started with until it
finishes, and no request waits for a load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge

from recmesh.storage import Store, StoreError
from recmesh.training.artifact import ArtifactError

log = logging.getLogger(__name__)

MODEL_VERSION = Gauge(
    "recmesh_model_version",
    "Version of the model artifact being served, by kind; 0 while none is loaded.",
    ["kind"],
)
MODEL_AGE = Gauge(
    "recmesh_model_age_seconds",
    "Seconds since the served model artifact was saved, by kind; 0 while none is loaded.",
    ["kind"],
)
MODEL_LOAD_FAILURES = Counter(
    "recmesh_model_load_failures_total",
    "Model artifacts that could not be read or were rejected as corrupt, by kind.",
    ["kind"],
)

Model = TypeVar("Model")


class ModelStore(Generic[Model]):
    """The newest intact artifact of `kind`, decoded by `decode` (which raises ArtifactError on bad bytes)."""

    def __init__(
        self,
        store: Store,
        kind: str,
        decode: Callable[[bytes], Model],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.kind = kind
        self.decode = decode
        self.clock = clock
        self._current: Model | None = None
        self._version = 0
        self._saved_at = 0.0
        # The newest version found unusable, so that each poll does not read and log it again.
        self._rejected_version = 0
        self._task: asyncio.Task[None] | None = None
        MODEL_VERSION.labels(kind).set(0)
        MODEL_AGE.labels(kind).set_function(self.age_seconds)

    @property
    def current(self) -> Model | None:
        """The loaded model, or None before the first successful load."""
        return self._current

    @property
    def version(self) -> int:
        return self._version

    def age_seconds(self) -> float:
        """Return seconds since the loaded artifact was saved, or 0 when none is loaded."""
        if self._current is None:
            return 0.0
        return max(self.clock() - self._saved_at, 0.0)

    def load_latest(self) -> bool:
        """Load the store's newest version when it is newer than the loaded one; return True on a swap.

        A store error or an unusable artifact is logged and counted, and the loaded model stays in service.
        """
        try:
            latest = self.store.latest_artifact_version(self.kind)
            if latest <= self._version or latest == self._rejected_version:
                return False
            artifact = self.store.get_artifact(self.kind, latest)
        except StoreError as exc:
            log.warning(
                "cannot check for a new %s artifact, keeping version %d: %s", self.kind, self._version, exc
            )
            return False
        if artifact is None:
            return False

        try:
            model = self.decode(artifact.data)
        except ArtifactError as exc:
            self._rejected_version = artifact.version
            MODEL_LOAD_FAILURES.labels(self.kind).inc()
            log.error(
                "rejected %s artifact version %d, still serving version %d: %s",
                self.kind,
                artifact.version,
                self._version,
                exc,
            )
            return False

        self._current = model
        self._version = artifact.version
        self._saved_at = float(artifact.created_at)
        MODEL_VERSION.labels(self.kind).set(artifact.version)
        log.info("loaded %s artifact version %d", self.kind, artifact.version)
        return True

    async def refresh(self) -> bool:
        """Run load_latest in a worker thread, so that decoding does not block the event loop."""
        return await asyncio.to_thread(self.load_latest)

    def start(self, poll_seconds: float) -> None:
        """Start polling the store every poll_seconds; the first check runs at once."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll(poll_seconds))

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _poll(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                # A decoder bug must not end polling: the loaded model keeps serving and the next poll retries.
                MODEL_LOAD_FAILURES.labels(self.kind).inc()
                log.exception(
                    "loading the newest %s artifact failed, keeping version %d", self.kind, self._version
                )
            await asyncio.sleep(poll_seconds)
