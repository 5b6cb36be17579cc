"""Logging set-up: key=value lines carrying the request id of the call being served."""

from __future__ import annotations

import logging
import os
import uuid
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
