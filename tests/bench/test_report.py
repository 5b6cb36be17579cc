from __future__ import annotations

import math
from pathlib import Path

import pytest

from recmesh.bench.groups import parse_groups
from recmesh.bench.plot import plot_gauc_by_group
from recmesh.bench.report import build_table, format_table, table_to_json
from recmesh.bench.user_results import UserResult

GROUPS = parse_groups("1-10,11-")


def result(user: str, group: str, test_count: int, **aucs: float | None) -> UserResult:
    failures = {name: "timeout" for name, value in aucs.items() if value is None}
    return UserResult(user, group, 5, test_count, dict(aucs), failures)


RESULTS = [
    result("a", "1-10", 4, fm=0.5, reranker=0.75, switch=0.75),
    result("b", "1-10", 2, fm=1.0, reranker=None, switch=1.0),
    result("c", "11-", 6, fm=0.6, reranker=0.4, switch=0.6),
]


def test_failed_user_counts_for_fm_only():
    table = build_table(RESULTS, GROUPS, ["fm", "reranker"], "fm", seed=1)
    small = table.rows[0]
    assert small.users == 2
    assert small.test_feedbacks == 6
    assert small.columns["fm"].gauc == pytest.approx((4 * 0.5 + 2 * 1.0) / 6)
    assert small.columns["reranker"].gauc == pytest.approx(0.75)
    assert small.columns["reranker"].users == 1
    assert small.columns["reranker"].failed == 1


def test_difference_over_paired_users():
    table = build_table(RESULTS, GROUPS, ["fm", "reranker"], "fm", seed=1)
    difference = table.rows[0].differences["reranker"]
    assert difference.users == 1
    assert difference.value == pytest.approx(0.25)


def test_overall_row_covers_all_users():
    table = build_table(RESULTS, GROUPS, ["fm", "reranker"], "fm", seed=1)
    assert table.overall.users == 3
    assert table.overall.columns["fm"].gauc == pytest.approx((2 + 2 + 3.6) / 12)
    assert table.overall.columns["reranker"].gauc == pytest.approx((3 + 2.4) / 10)


def test_empty_group_has_no_figures():
    table = build_table(RESULTS[:2], GROUPS, ["fm", "reranker"], "fm", seed=1)
    empty = table.rows[1]
    assert empty.users == 0
    assert math.isnan(empty.columns["fm"].gauc)
    assert empty.differences["reranker"].interval is None
    assert table_to_json(table)["groups"][1]["gauc"]["fm"]["value"] is None
    assert "-" in format_table(table).splitlines()[2]


def test_third_column_gets_own_gauc_and_difference():
    table = build_table(RESULTS, GROUPS, ["fm", "reranker", "switch"], "fm", seed=1)
    assert table.challengers == ["reranker", "switch"]
    assert table.overall.columns["switch"].gauc == pytest.approx((3 + 2 + 3.6) / 12)
    assert table.overall.differences["switch"].users == 3
    text = format_table(table)
    assert "GAUC switch" in text
    assert "switch - fm [95% CI]" in text
    assert "overall GAUC: fm 0.6333, reranker 0.5400, switch 0.7167" in text


def test_table_lines_per_group_and_overall():
    lines = format_table(build_table(RESULTS, GROUPS, ["fm", "reranker"], "fm", seed=1)).splitlines()
    assert lines[1].startswith("1-10")
    assert lines[2].startswith("11-")
    assert lines[3].startswith("all")


def test_unknown_baseline_rejected():
    with pytest.raises(ValueError, match="baseline column 'x'"):
        build_table(RESULTS, GROUPS, ["fm", "reranker"], "x", seed=1)


def test_plot_written_as_png(tmp_path: Path):
    table = build_table(RESULTS, GROUPS, ["fm", "reranker", "switch"], "fm", seed=1)
    path = tmp_path / "plot.png"
    plot_gauc_by_group(table, path, "test")
    assert path.read_bytes().startswith(b"\x89PNG")
