"""A ranker under evaluation: one column of the bench-llm table."""

from __future__ import annotations

from typing import Protocol

from recmesh.bench.evaluation_users import EvaluationUser


class ColumnFailure(Exception):
    """A ranker could not score a user; reason is a short label such as "timeout" or "http_status"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RankerColumn(Protocol):
    # Name in the table, the CSV header (auc_NAME) and the plot legend.
    name: str

    async def score(self, user: EvaluationUser) -> list[float]:
        """Return one score per item of user.item_ids, higher is better; raise ColumnFailure."""
        ...
