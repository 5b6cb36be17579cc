from __future__ import annotations

from services.candidate.merge import SourceOutput, merge_sources


def test_merge_keeps_flow_order_and_dedups() -> None:
    result = merge_sources(
        [
            SourceOutput("a", [("x", 3.0), ("y", 2.0)]),
            SourceOutput("b", [("y", 9.0), ("z", 1.0)]),
        ],
        n=10,
    )

    assert [c.item_id for c in result.candidates] == ["x", "y", "z"]
    assert result.candidates[1].score == 2.0
    assert result.candidates[1].sources == [("a", 2.0), ("b", 9.0)]
    assert result.contributed == {"a": 2, "b": 1}


def test_merge_applies_quota_per_source() -> None:
    result = merge_sources(
        [
            SourceOutput("a", [("x", 3.0), ("y", 2.0), ("w", 1.0)], quota=1),
            SourceOutput("b", [("y", 9.0), ("z", 1.0)]),
        ],
        n=10,
    )

    assert [c.item_id for c in result.candidates] == ["x", "y", "z"]
    assert result.candidates[1].sources == [("b", 9.0)]
    assert result.contributed == {"a": 1, "b": 2}


def test_merge_stops_at_n_but_records_later_sources() -> None:
    result = merge_sources(
        [SourceOutput("a", [("x", 1.0), ("y", 1.0)]), SourceOutput("b", [("x", 5.0), ("z", 5.0)])],
        n=2,
    )

    assert [c.item_id for c in result.candidates] == ["x", "y"]
    assert result.candidates[0].sources == [("a", 1.0), ("b", 5.0)]
    assert result.contributed["b"] == 0


def test_merge_counts_a_source_once_per_item() -> None:
    result = merge_sources([SourceOutput("a", [("x", 1.0), ("x", 0.5)])], n=5)

    assert result.candidates[0].sources == [("a", 1.0)]
