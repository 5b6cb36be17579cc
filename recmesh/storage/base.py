"""The storage interface every backend implements.

Every write is committed before the call returns. Reads return plain values
from recmesh.entities. A backend raises StoreUnavailable when the database
cannot be reached, so that servers can return UNAVAILABLE and keep running.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence

from recmesh.entities import Artifact, Feedback, Item, SavedFlow, User


class StoreError(Exception):
    """A storage operation failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is not writable right now."""


class Store(abc.ABC):
    url: str

    # Users and items

    @abc.abstractmethod
    def insert_users(self, users: Iterable[User]) -> int:
        """Insert or replace users by id; return how many were written."""

    @abc.abstractmethod
    def insert_items(self, items: Iterable[Item]) -> int:
        """Insert or replace items by id; return how many were written."""

    @abc.abstractmethod
    def get_user(self, user_id: str) -> User | None: ...

    @abc.abstractmethod
    def get_items(self, item_ids: Sequence[str]) -> dict[str, Item]:
        """Return the stored items among item_ids, keyed by id; unknown ids are left out."""

    @abc.abstractmethod
    def iter_users(self) -> Iterator[User]: ...

    @abc.abstractmethod
    def iter_items(self) -> Iterator[Item]: ...

    @abc.abstractmethod
    def latest_items(self, n: int, since: int = 0) -> list[Item]:
        """Return up to n visible items with timestamp >= since, newest first, ties by id."""

    # Feedback

    @abc.abstractmethod
    def insert_feedback(self, feedback: Iterable[Feedback]) -> int:
        """Insert feedback; a row with the same (type, user_id, item_id) is replaced."""

    @abc.abstractmethod
    def user_feedback(self, user_id: str, types: Sequence[str] = (), limit: int = 0) -> list[Feedback]:
        """Return the user's feedback, newest first; empty types means every type, limit 0 means all."""

    @abc.abstractmethod
    def popular_items(self, n: int, types: Sequence[str], since: int = 0) -> list[tuple[str, int]]:
        """Return up to n (item id, feedback count) of visible items, most counted first, ties by id."""

    @abc.abstractmethod
    def iter_feedback(self) -> Iterator[Feedback]:
        """Yield every feedback row ordered by timestamp, then user, item and type."""

    @abc.abstractmethod
    def count_feedback(self) -> int: ...

    # Flows

    @abc.abstractmethod
    def save_flow(self, data: bytes, comment: str = "") -> SavedFlow:
        """Store a serialized flow under the next version and make it live."""

    @abc.abstractmethod
    def get_flow(self, version: int) -> SavedFlow | None: ...

    @abc.abstractmethod
    def list_flows(self, limit: int = 50) -> list[SavedFlow]:
        """Return saved flows, newest version first."""

    @abc.abstractmethod
    def live_flow_version(self) -> int:
        """Return the version of the live saved flow, or 0 when the config file's flow is live."""

    @abc.abstractmethod
    def set_live_flow(self, version: int) -> None:
        """Make a saved version live; 0 returns to the config file's flow."""

    # Model artifacts

    @abc.abstractmethod
    def save_artifact(self, kind: str, data: bytes) -> Artifact:
        """Store model bytes of a kind under the next version of that kind."""

    @abc.abstractmethod
    def latest_artifact_version(self, kind: str) -> int:
        """Return the newest version of a kind, or 0 when there is none."""

    @abc.abstractmethod
    def get_artifact(self, kind: str, version: int = 0) -> Artifact | None:
        """Return one version of a kind; version 0 means the newest."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def live_flow(self) -> SavedFlow | None:
        version = self.live_flow_version()
        return self.get_flow(version) if version else None
