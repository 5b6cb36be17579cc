"""User groups by number of training feedbacks, as `--groups 1-20,21-50,201-` writes them."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_GROUPS = "1-20,21-50,51-100,101-200,201-"


class GroupsError(ValueError):
    """A --groups value that cannot be parsed; the message names the range at fault."""


@dataclass(frozen=True, slots=True)
class HistoryGroup:
    """Users with low <= training feedbacks <= high; high None means no upper bound."""

    low: int
    high: int | None

    @property
    def label(self) -> str:
        return f"{self.low}-" if self.high is None else f"{self.low}-{self.high}"

    def contains(self, count: int) -> bool:
        return count >= self.low and (self.high is None or count <= self.high)


def parse_groups(text: str) -> list[HistoryGroup]:
    """Parse comma-separated ranges `LOW-HIGH`, or `LOW-` for the last, open-ended one.

    Raise GroupsError unless the ranges are ascending and do not overlap, and only the last is open-ended.
    Gaps between ranges are allowed: users whose count falls in a gap are skipped and counted.
    """
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise GroupsError(f"--groups {text!r}: expected ranges such as 1-20,21-50,51- separated by commas")

    groups = [_parse_range(part) for part in parts]
    for previous, group in itertools.pairwise(groups):
        if previous.high is None:
            raise GroupsError(
                f"--groups {text!r}: the open-ended range {previous.label} must be the last one"
            )
        if group.low <= previous.high:
            raise GroupsError(
                f"--groups {text!r}: range {group.label} overlaps or precedes {previous.label}; "
                "write the ranges in ascending order without overlap"
            )
    return groups


def _parse_range(part: str) -> HistoryGroup:
    low_text, dash, high_text = part.partition("-")
    if not dash:
        raise GroupsError(f"--groups: range {part!r} has no '-': write LOW-HIGH, or LOW- for no upper bound")
    low = _parse_count(low_text, part)
    if not high_text.strip():
        return HistoryGroup(low, None)
    high = _parse_count(high_text, part)
    if high < low:
        raise GroupsError(f"--groups: range {part!r} ends before it starts")
    return HistoryGroup(low, high)


def _parse_count(text: str, part: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise GroupsError(f"--groups: range {part!r}: {text!r} is not a whole number of feedbacks")
    count = int(text)
    if count < 1:
        raise GroupsError(f"--groups: range {part!r} starts at 0, but every evaluated user has a feedback")
    return count


def find_group(count: int, groups: Sequence[HistoryGroup]) -> HistoryGroup | None:
    """Return the group whose range contains count, or None when count falls outside every range."""
    for group in groups:
        if group.contains(count):
            return group
    return None
