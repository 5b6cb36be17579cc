"""gauc_by_group.png: a bar per column and group, with the bootstrap interval as an error bar."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recmesh.bench.report import BenchTable, TableRow


def plot_gauc_by_group(table: BenchTable, path: Path, title: str) -> None:
    """Write a grouped bar chart of every column's GAUC per group, the overall figure last."""
    rows: list[TableRow] = [*table.rows, table.overall]
    positions = np.arange(len(rows))
    width = 0.8 / len(table.columns)

    # A Figure on the Agg canvas renders without a display and leaves pyplot's global backend alone.
    figure = Figure(figsize=(2.0 + 1.6 * len(rows), 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    lowest = 1.0
    for offset, name in enumerate(table.columns):
        values = [row.columns[name].gauc for row in rows]
        below = [_error(row, name, low=True) for row in rows]
        above = [_error(row, name, low=False) for row in rows]
        shift = (offset - (len(table.columns) - 1) / 2) * width
        axes.bar(
            positions + shift,
            [0.0 if math.isnan(value) else value for value in values],
            width,
            yerr=[below, above],
            capsize=3,
            label=name,
        )
        bottoms = [value - error for value, error in zip(values, below, strict=True) if not math.isnan(value)]
        lowest = min([lowest, *bottoms])

    axes.axhline(0.5, color="grey", linewidth=0.8, linestyle="--", label="random order (0.5)")
    axes.set_xticks(positions, [f"{row.label}\n{row.users} users" for row in rows])
    axes.set_xlabel("training feedbacks per user (error bars: 95% bootstrap interval over users)")
    axes.set_ylabel("GAUC (test feedbacks as weights)")
    axes.set_ylim(max(0.0, min(0.45, lowest - 0.05)), 1.02)
    axes.set_title(title)
    # Rankers first, then the reference line, whatever order matplotlib collected them in.
    handles, labels = axes.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda index: labels[index] not in table.columns)
    axes.legend(
        [handles[index] for index in order],
        [labels[index] for index in order],
        loc="upper left",
        ncols=len(labels),
        fontsize="small",
    )
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def _error(row: TableRow, name: str, low: bool) -> float:
    figures = row.columns[name]
    if figures.interval is None or math.isnan(figures.gauc):
        return 0.0
    edge = figures.interval.low if low else figures.interval.high
    return max(0.0, figures.gauc - edge if low else edge - figures.gauc)
