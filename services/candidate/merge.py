"""Merge the outputs of several sources in flow order: deduplicated, with quotas and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SourceOutput:
    name: str
    items: list[tuple[str, float]]
    # At most this many of the source's items survive the merge; 0 means no quota.
    quota: int = 0


@dataclass(slots=True)
class MergedCandidate:
    item_id: str
    # The score from the first source that produced the item.
    score: float
    sources: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MergeResult:
    candidates: list[MergedCandidate]
    # Items each source added that no earlier source had, by source name.
    contributed: dict[str, int]


def merge_sources(outputs: list[SourceOutput], n: int) -> MergeResult:
    """Merge outputs in their order. The first source to produce an item keeps its rank; every
    source that produced it is recorded with its score. The merge stops adding at n items but
    still records later sources on items already kept."""
    merged: dict[str, MergedCandidate] = {}
    contributed: dict[str, int] = {}
    for output in outputs:
        added = 0
        for item_id, score in output.items:
            existing = merged.get(item_id)
            if existing is not None:
                if all(source != output.name for source, _ in existing.sources):
                    existing.sources.append((output.name, score))
                continue
            if len(merged) >= n or (output.quota and added >= output.quota):
                continue
            merged[item_id] = MergedCandidate(item_id=item_id, score=score, sources=[(output.name, score)])
            added += 1
        contributed[output.name] = added
    return MergeResult(candidates=list(merged.values()), contributed=contributed)
