"""The contract every ranker (a scorer) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from recmesh.user_context import UserContext


@dataclass(frozen=True, slots=True)
class Candidate:
    item_id: str
    # Score and sources from the merge, kept for provenance.
    merged_score: float
    sources: tuple[tuple[str, float], ...] = ()


class ScorerError(Exception):
    """A scorer could not order the candidates. `reason` is one of a bounded set of labels
    (timeout, http_status, bad_reply, breaker_open, template_error, unavailable, error)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Scorer(Protocol):
    name: str

    async def score(self, context: UserContext, candidates: list[Candidate]) -> list[float]:
        """Return one score per candidate, in the candidates' order; higher ranks first.
        Raise ScorerError when the scorer cannot order them."""
        ...
