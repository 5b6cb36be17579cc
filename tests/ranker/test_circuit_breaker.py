from __future__ import annotations

from services.ranker.circuit_breaker import BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures() -> None:
    breaker = CircuitBreaker(3, 30, FakeClock())

    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_success_resets_failure_count() -> None:
    breaker = CircuitBreaker(2, 30, FakeClock())

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_breaker_half_opens_after_reset_and_allows_one_trial() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    breaker.record_failure()

    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1

    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()


def test_trial_success_closes_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    breaker.record_failure()
    clock.now += 30
    assert breaker.allow()

    breaker.record_success()

    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    assert breaker.allow()


def test_trial_failure_reopens_for_another_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(5, 30, clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 30
    assert breaker.allow()

    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_released_trial_lets_next_call_try() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    breaker.record_failure()
    clock.now += 30
    assert breaker.allow()

    breaker.release()

    assert breaker.allow()


def test_zero_failures_disables_breaker() -> None:
    breaker = CircuitBreaker(0, 30, FakeClock())

    for _ in range(100):
        breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_state_changes_are_reported() -> None:
    clock = FakeClock()
    seen: list[BreakerState] = []
    breaker = CircuitBreaker(1, 10, clock, on_change=seen.append)

    breaker.record_failure()
    clock.now += 10
    breaker.allow()
    breaker.record_success()

    assert seen == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]
