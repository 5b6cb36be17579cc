"""Plain value types shared by the storage layer, the domain logic and the converters."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class User:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    categories: tuple[str, ...] = ()
    timestamp: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Feedback:
    type: str
    user_id: str
    item_id: str
    timestamp: int = 0
    value: float = 1.0


@dataclass(frozen=True, slots=True)
class SavedFlow:
    version: int
    data: bytes
    comment: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Artifact:
    kind: str
    version: int
    data: bytes
    created_at: int
