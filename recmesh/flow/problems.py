from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlowProblem:
    """One reason a flow is invalid.

    node_id is empty for graph-wide problems, such as a missing recommend node or a bad edge. field
    is the config field or the edge at fault.
    """

    node_id: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"node {self.node_id!r}" if self.node_id else "flow"
        if self.field:
            where = f"{where}, {self.field}"
        return f"{where}: {self.message}"


class FlowValidationError(ValueError):
    """A flow was rejected; `problems` lists every reason."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid flow ({len(self.problems)} problems):\n{lines}")
