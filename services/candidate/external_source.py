"""External recommender: candidates from an HTTP endpoint named in the flow.

`GET url?user_id=USER&n=N` must return a JSON list of item ids (strings or integers), or of objects with
"id" and an optional numeric "score". Ids without a score get 1 / (1 + position), so the endpoint's order
is kept. Any failure raises SourceError, which the merge stage catches and counts, so a failing endpoint
costs the request this source's candidates and nothing more.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp

from recmesh.user_context import UserContext
from services.candidate.source_error import SourceError


class ExternalSource:
    type = "external"

    def __init__(self, name: str, url: str, timeout_ms: int, session: aiohttp.ClientSession) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{name}: url must be an http:// or https:// URL, got {url!r}")
        if timeout_ms < 1:
            raise ValueError(f"{name}: timeout_ms must be at least 1, got {timeout_ms}")
        self.name = name
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self.session = session

    async def recommend(self, context: UserContext, n: int) -> list[tuple[str, float]]:
        if n <= 0:
            return []
        body = await self._fetch(context.user_id, n)
        return _parse(self.name, body)[:n]

    async def _fetch(self, user_id: str, n: int) -> Any:
        params = {"user_id": user_id, "n": str(n)}
        try:
            async with self.session.get(self.url, params=params, timeout=self.timeout) as response:
                if response.status != 200:
                    raise SourceError(
                        "http_status", f"{self.name}: {self.url} returned HTTP {response.status}"
                    )
                text = await response.text()
        except TimeoutError as exc:
            raise SourceError(
                "timeout", f"{self.name}: {self.url} did not reply within {self.timeout.total:.3f}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SourceError("unavailable", f"{self.name}: request to {self.url} failed: {exc}") from exc

        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError("bad_reply", f"{self.name}: {self.url} returned invalid JSON: {exc}") from exc


def _parse(source: str, body: Any) -> list[tuple[str, float]]:
    """Turn the endpoint's JSON into (item id, score) pairs, first occurrence of an id kept."""
    if not isinstance(body, list):
        raise SourceError("bad_reply", f"{source}: expected a JSON list, got {type(body).__name__}")
    candidates: dict[str, float] = {}
    for position, entry in enumerate(body):
        item_id, score = _entry(source, position, entry)
        candidates.setdefault(item_id, score)
    return list(candidates.items())


def _entry(source: str, position: int, entry: Any) -> tuple[str, float]:
    default_score = 1.0 / (1 + position)
    if isinstance(entry, dict):
        item_id = entry.get("id")
        score = entry.get("score", default_score)
    else:
        item_id, score = entry, default_score

    if isinstance(item_id, bool) or not isinstance(item_id, str | int) or item_id == "":
        raise SourceError(
            "bad_reply", f"{source}: entry {position} has no string or integer id: {entry!r:.80}"
        )
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise SourceError("bad_reply", f"{source}: entry {position} has a score that is not a finite number")
    return str(item_id), float(score)
