"""Logging set-up: key=value lines carrying the request id of the call being served."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(service: str, level: str | None = None) -> None:
    """Send INFO and above (RECMESH_LOG_LEVEL overrides) to stderr, one key=value line per record."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(
            f"ts=%(asctime)s level=%(levelname)s service={service} logger=%(name)s "
            "request_id=%(request_id)s msg=%(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("RECMESH_LOG_LEVEL", "INFO"))
    # aiohttp logs every HTTP request at INFO; the /metrics scrapes would drown the service's own lines.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class LogThrottle:
    """Lets one log line per key through every `seconds`, and counts the ones it held back, so
    that a failure repeated on every request does not flood the log."""

    def __init__(self, seconds: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """Return how many lines of key were held back since the last one let through, or None to hold
        this one back too."""
        now = self.clock()
        if now - self._last.get(key, float("-inf")) < self.seconds:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)
