from __future__ import annotations

from recmesh.logs import LogThrottle


def test_throttle_lets_first_line_through_and_counts_the_rest() -> None:
    throttle = LogThrottle(seconds=60)

    first = throttle.allow("ranker")
    held = [throttle.allow("ranker") for _ in range(3)]
    other = throttle.allow("candidates")

    assert first == 0
    assert held == [None, None, None]
    assert other == 0


def test_throttle_reports_held_lines_after_the_interval() -> None:
    now = [100.0]
    throttle = LogThrottle(seconds=10, clock=lambda: now[0])
    throttle.allow("ranker")
    throttle.allow("ranker")
    throttle.allow("ranker")
    now[0] += 11

    assert throttle.allow("ranker") == 2
    assert throttle.allow("ranker") is None
