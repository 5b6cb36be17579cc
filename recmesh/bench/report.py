"""The bench-llm table: GAUC per group and column, and each column's difference from the baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recmesh.bench.auc import group_auc
from recmesh.bench.bootstrap import Interval, difference_interval, gauc_interval
from recmesh.bench.groups import HistoryGroup
from recmesh.bench.user_results import UserResult

OVERALL_LABEL = "all"


@dataclass(frozen=True)
class ColumnFigures:
    # NaN when no user of the row was scored by the column.
    gauc: float
    interval: Interval | None
    # Users the column scored, and users it failed on.
    users: int
    failed: int


@dataclass(frozen=True)
class DifferenceFigures:
    """GAUC(column) − GAUC(baseline) over the users both scored, with its bootstrap interval."""

    value: float
    interval: Interval | None
    users: int


@dataclass(frozen=True)
class TableRow:
    label: str
    users: int
    test_feedbacks: int
    columns: dict[str, ColumnFigures]
    # By the name of every column but the baseline.
    differences: dict[str, DifferenceFigures]


@dataclass(frozen=True)
class BenchTable:
    baseline: str
    columns: list[str]
    rows: list[TableRow]
    overall: TableRow

    @property
    def challengers(self) -> list[str]:
        return [name for name in self.columns if name != self.baseline]


def build_table(
    results: Sequence[UserResult],
    groups: Sequence[HistoryGroup],
    columns: Sequence[str],
    baseline: str,
    seed: int,
) -> BenchTable:
    """Summarise the results by group (in the order of groups) and over all users."""
    if baseline not in columns:
        raise ValueError(f"baseline column {baseline!r} is not one of {', '.join(columns)}")
    rows = [
        _row(group.label, [r for r in results if r.group == group.label], columns, baseline, seed)
        for group in groups
    ]
    overall = _row(OVERALL_LABEL, list(results), columns, baseline, seed)
    return BenchTable(baseline=baseline, columns=list(columns), rows=rows, overall=overall)


def _row(
    label: str, results: Sequence[UserResult], columns: Sequence[str], baseline: str, seed: int
) -> TableRow:
    figures = {}
    for name in columns:
        scored = [r for r in results if r.aucs.get(name) is not None]
        aucs = [r.aucs[name] for r in scored]
        weights = [r.test_count for r in scored]
        figures[name] = ColumnFigures(
            gauc=group_auc(aucs, weights),  # type: ignore[arg-type]
            interval=gauc_interval(aucs, weights, seed),  # type: ignore[arg-type]
            users=len(scored),
            failed=len(results) - len(scored),
        )

    differences = {}
    for name in columns:
        if name == baseline:
            continue
        paired = [r for r in results if r.aucs.get(name) is not None and r.aucs.get(baseline) is not None]
        challenger = [r.aucs[name] for r in paired]
        reference = [r.aucs[baseline] for r in paired]
        weights = [r.test_count for r in paired]
        differences[name] = DifferenceFigures(
            value=group_auc(challenger, weights) - group_auc(reference, weights),  # type: ignore[arg-type]
            interval=difference_interval(reference, challenger, weights, seed),  # type: ignore[arg-type]
            users=len(paired),
        )

    return TableRow(
        label=label,
        users=len(results),
        test_feedbacks=sum(r.test_count for r in results),
        columns=figures,
        differences=differences,
    )


def format_table(table: BenchTable) -> str:
    """Format the table for a terminal: one line per group, then the overall line."""
    head = f"{'group':<10}{'users':>7}{'test fb':>9}{f'GAUC {table.baseline}':>11}"
    for name in table.challengers:
        head += f"{f'GAUC {name}':>15}  {f'{name} - {table.baseline} [95% CI]':<32}{f'{name} failed':>16}"
    lines = [head]
    for row in [*table.rows, table.overall]:
        line = f"{row.label:<10}{row.users:>7,}{row.test_feedbacks:>9,}{_number(row.columns[table.baseline].gauc):>11}"
        for name in table.challengers:
            column = row.columns[name]
            difference = row.differences[name]
            line += f"{_number(column.gauc):>15}  {_difference(difference):<32}{column.failed:>16,}"
        lines.append(line)
    lines.append(
        "GAUC = Σ test feedbacks × AUC / Σ test feedbacks over the users a ranker scored; differences are over "
        "users both rankers scored; intervals are 95% bootstrap percentiles over users."
    )
    overall = table.overall.columns
    lines.append(
        "overall GAUC: " + ", ".join(f"{name} {_number(overall[name].gauc)}" for name in table.columns)
    )
    return "\n".join(lines)


def table_to_json(table: BenchTable) -> dict[str, Any]:
    return {
        "baseline": table.baseline,
        "columns": table.columns,
        "groups": [_row_to_json(row) for row in table.rows],
        "overall": _row_to_json(table.overall),
    }


def _row_to_json(row: TableRow) -> dict[str, Any]:
    return {
        "group": row.label,
        "users": row.users,
        "test_feedbacks": row.test_feedbacks,
        "gauc": {
            name: {
                "value": _json_number(figures.gauc),
                "ci95": _interval_json(figures.interval),
                "users": figures.users,
                "failed": figures.failed,
            }
            for name, figures in row.columns.items()
        },
        "difference": {
            name: {
                "value": _json_number(figures.value),
                "ci95": _interval_json(figures.interval),
                "users": figures.users,
            }
            for name, figures in row.differences.items()
        },
    }


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}"


def _difference(figures: DifferenceFigures) -> str:
    if math.isnan(figures.value) or figures.interval is None:
        return "-"
    return f"{figures.value:+.4f} [{figures.interval.low:+.4f}, {figures.interval.high:+.4f}]"


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _interval_json(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]
