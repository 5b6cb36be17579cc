"""A progress bar on stderr for long imports and training runs. It is silent when stderr is not a terminal
unless forced, so logs and CI output stay readable."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO | None = None,
        force: bool = False,
        line_every_seconds: float = 0.0,
    ) -> None:
        """line_every_seconds > 0 writes one plain line per interval when the bar itself is not drawn,
        so a long run sent to a log file still shows its progress."""
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self.line_every_seconds = line_every_seconds
        self._last_line = self.started

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if self.enabled and (now - self._last_draw >= 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw(now)
        elif (
            not self.enabled
            and self.line_every_seconds > 0
            and now - self._last_line >= self.line_every_seconds
        ):
            self._last_line = now
            self.stream.write(self._status(now) + "\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        fraction = self.done / self.total if self.total else 1.0
        width = 30
        filled = int(width * min(fraction, 1.0))
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"{rate:,.0f}/s eta {remaining:,.0f}s "
        )
        self.stream.flush()

    def _status(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 else 0.0
        return f"{self.label}: {self.done}/{self.total} done, {rate:,.2f}/s, eta {remaining:,.0f}s"

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
