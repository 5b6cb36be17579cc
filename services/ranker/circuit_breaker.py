"""A consecutive-failure circuit breaker for calls to the rerank API."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.IntEnum):
    # The values are the ones the breaker state gauge exports.
    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Opens after `failures` consecutive failures and rejects calls for `reset_seconds`.

    Then it lets one trial call through (half-open): its success closes the
    breaker, its failure opens it for another `reset_seconds`. Other calls made
    while the trial runs are rejected. `failures` of 0 disables the breaker.
    """

    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if failures < 0 or reset_seconds < 0:
            raise ValueError(f"failures and reset_seconds must be >= 0, got {failures} and {reset_seconds}")
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        """Return the state, moving from open to half-open once reset_seconds have passed."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_seconds:
            self._set_state(BreakerState.HALF_OPEN)
        return self._state

    def allow(self) -> bool:
        """Return whether a call may go out now; a True in half-open state claims the one trial call."""
        if self.failures == 0:
            return True
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._consecutive_failures = 0
        self._trial_running = False
        if self._state is not BreakerState.CLOSED:
            self._set_state(BreakerState.CLOSED)

    def record_failure(self) -> None:
        if self.failures == 0:
            return
        self._consecutive_failures += 1
        was_trial = self._trial_running
        self._trial_running = False
        if was_trial or self._consecutive_failures >= self.failures:
            self._opened_at = self._clock()
            self._set_state(BreakerState.OPEN)

    def release(self) -> None:
        """End a trial call that neither succeeded nor failed (it was cancelled), so another may run."""
        self._trial_running = False

    def _set_state(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
