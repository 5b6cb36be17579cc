"""The exception a recommender raises when it cannot produce candidates."""

from __future__ import annotations


class SourceError(Exception):
    """A recommender failed. `reason` is one of a bounded set of metric labels:
    unavailable (no model loaded, endpoint unreachable), timeout, http_status, bad_reply."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
