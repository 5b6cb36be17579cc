from __future__ import annotations

import pytest

from recmesh.bench.groups import DEFAULT_GROUPS, GroupsError, HistoryGroup, find_group, parse_groups


def test_default_groups_parse():
    groups = parse_groups(DEFAULT_GROUPS)
    assert [group.label for group in groups] == ["1-20", "21-50", "51-100", "101-200", "201-"]
    assert groups[-1] == HistoryGroup(201, None)


def test_spaces_around_ranges_ignored():
    assert parse_groups(" 1-5 , 6- ") == [HistoryGroup(1, 5), HistoryGroup(6, None)]


def test_single_count_range():
    assert parse_groups("3-3") == [HistoryGroup(3, 3)]


def test_gaps_between_ranges_allowed():
    groups = parse_groups("1-5,10-20")
    assert find_group(7, groups) is None
    assert find_group(10, groups) == HistoryGroup(10, 20)


@pytest.mark.parametrize(
    ("count", "label"),
    [(1, "1-20"), (20, "1-20"), (21, "21-50"), (200, "101-200"), (201, "201-"), (5000, "201-")],
)
def test_find_group_bounds_inclusive(count: int, label: str):
    group = find_group(count, parse_groups(DEFAULT_GROUPS))
    assert group is not None
    assert group.label == label


def test_count_below_first_group_has_no_group():
    assert find_group(1, parse_groups("2-10")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected ranges"),
        ("1-5,,6-", "expected ranges"),
        ("5", "has no '-'"),
        ("a-5", "'a' is not a whole number"),
        ("1-x", "'x' is not a whole number"),
        ("-5", "'' is not a whole number"),
        ("0-5", "starts at 0"),
        ("10-5", "ends before it starts"),
        ("1-10,5-20", "overlaps or precedes"),
        ("1-10,10-20", "overlaps or precedes"),
        ("21-50,1-20", "overlaps or precedes"),
        ("1-,5-10", "must be the last one"),
        ("1--5", "is not a whole number"),
    ],
)
def test_invalid_groups_rejected(text: str, message: str):
    with pytest.raises(GroupsError, match=message):
        parse_groups(text)
