"""An aiohttp client for Jina-style rerank APIs (Jina, Cohere, DashScope, TEI, Infinity, the local server).

Request: ``POST url`` with ``{"model", "query", "documents", "top_n"}`` and
``Authorization: Bearer TOKEN`` (left out when the token is empty).
Reply: ``results``, ``data`` or a bare list of ``{"index", "relevance_score"}``
(or ``"score"``), in any order. Scores may be JSON numbers or strings that parse
as finite numbers, because some gateways serialise decimals as strings; NaN,
infinities, booleans and other strings are rejected. A reply that repeats an
index or names one out of range is rejected as a whole, since its scores cannot
be trusted to belong to the documents sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.ranker import llm_metrics
from services.ranker.scorer import ScorerError

log = logging.getLogger(__name__)

# Replies larger than this are rejected: 10,000 results of about 60 bytes each fit many times over.
MAX_REPLY_BYTES = 8 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class RerankCall:
    """Target, model and limits of one rerank request."""

    url: str
    model: str
    connect_timeout_seconds: float
    max_documents: int


@dataclass(frozen=True, slots=True)
class RerankResult:
    # One score per document sent; None for a document the reply left out.
    scores: list[float | None]
    # Document indices, scored ones by descending score, then the left-out ones in the order sent.
    order: list[int]
    # Tokens the API reported, summed over split calls; None when no reply carried usage.
    total_tokens: int | None


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class RerankerClient:
    """Rerank API client with one shared connection pool. Call close() when done."""

    def __init__(
        self,
        token: str = "",
        max_connections: int = 100,
        first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token
        self._max_connections = max_connections
        self._first_backoff = first_backoff_seconds
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        token = "<set>" if self._token else "<empty>"
        return f"RerankerClient(token={token}, max_connections={self._max_connections})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use because a session belongs to the event loop that creates it.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self._session

    def redact(self, text: str) -> str:
        """Return text with the token replaced, for details that quote a reply or an aiohttp error."""
        return text.replace(self._token, "<token>") if self._token else text

    async def rerank(
        self, call: RerankCall, query: str, documents: Sequence[str], deadline: float
    ) -> RerankResult:
        """Score documents against query, splitting them into concurrent calls of call.max_documents.

        deadline is an absolute time on the client's clock (time.monotonic by default).
        Raise ScorerError when any part fails.
        """
        if not documents:
            return RerankResult([], [], None)
        size = max(1, call.max_documents)
        starts = range(0, len(documents), size)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(
                        self._rerank_part(call, query, documents[start : start + size], deadline)
                    )
                    for start in starts
                ]
        except BaseExceptionGroup as failures:
            raise _first_scorer_error(failures) from None

        scores: list[float | None] = []
        total_tokens: int | None = None
        for task in tasks:
            part_scores, part_tokens = task.result()
            scores.extend(part_scores)
            if part_tokens is not None:
                total_tokens = (total_tokens or 0) + part_tokens
        return RerankResult(scores, order_by_scores(scores), total_tokens)

    async def _rerank_part(
        self, call: RerankCall, query: str, documents: Sequence[str], deadline: float
    ) -> tuple[list[float | None], int | None]:
        payload = {"model": call.model, "query": query, "documents": list(documents), "top_n": len(documents)}
        llm_metrics.RERANKER_DOCUMENTS.inc(len(documents))
        body = await self._post_with_retries(call, payload, deadline)

        scores, tokens = parse_rerank_reply(body, len(documents), self.redact)
        if tokens is not None:
            llm_metrics.RERANKER_TOKENS.inc(tokens)
        return scores, tokens

    async def _post_with_retries(self, call: RerankCall, payload: dict[str, Any], deadline: float) -> bytes:
        attempt = 0
        while True:
            try:
                return await self._post(call, payload, deadline)
            except _RetryableStatus as exc:
                delay = min(self._first_backoff * 2**attempt, MAX_BACKOFF_SECONDS)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                remaining = deadline - self._clock()
                # Retry only when the attempt after the wait still has as long as the wait itself.
                if remaining < 2 * delay:
                    raise ScorerError(
                        "http_status",
                        f"rerank API at {self.redact(call.url)} returned HTTP {exc.status} "
                        f"after {attempt + 1} attempts, no time left to retry",
                    ) from None
                log.warning(
                    "rerank API returned HTTP %d, retrying in %.3f s (attempt %d)",
                    exc.status,
                    delay,
                    attempt + 2,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def _post(self, call: RerankCall, payload: dict[str, Any], deadline: float) -> bytes:
        remaining = deadline - self._clock()
        url = self.redact(call.url)
        if remaining <= 0:
            raise ScorerError("timeout", f"no time left to call the rerank API at {url}")
        timeout = aiohttp.ClientTimeout(
            total=remaining, sock_connect=min(call.connect_timeout_seconds, remaining)
        )
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}

        started = time.perf_counter()
        status_label = "connect_error"
        try:
            async with self._get_session().post(
                call.url, json=payload, headers=headers, timeout=timeout
            ) as reply:
                status_label = str(reply.status)
                body = await _read_limited(reply)
        except TimeoutError as exc:
            status_label = "timeout"
            raise ScorerError(
                "timeout", f"rerank API at {url} did not reply within {remaining:.3f} s"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ScorerError(
                "unavailable", f"cannot connect to the rerank API at {url}: {exc.strerror}"
            ) from exc
        except aiohttp.ClientError as exc:
            # Connection lost mid-request, or an invalid HTTP reply. The message can quote the URL.
            raise ScorerError(
                "unavailable", f"rerank API at {url} failed: {type(exc).__name__}: {self.redact(str(exc))}"
            ) from exc
        finally:
            elapsed = time.perf_counter() - started
            llm_metrics.RERANKER_LATENCY.observe(elapsed)
            llm_metrics.RERANKER_REQUESTS.labels(status_label).inc()
            log.debug("rerank call to %s: status=%s seconds=%.4f", url, status_label, elapsed)

        if reply.status in RETRYABLE_STATUSES:
            raise _RetryableStatus(reply.status, _retry_after_seconds(reply.headers.get("Retry-After")))
        if reply.status != 200:
            raise ScorerError(
                "http_status",
                f"rerank API at {url} returned HTTP {reply.status}: {_excerpt(body, self.redact)}",
            )
        return body


async def _read_limited(reply: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ScorerError("bad_reply", f"rerank reply is larger than {MAX_REPLY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after_seconds(value: str | None) -> float | None:
    # Only the delta-seconds form; an HTTP date is ignored and the backoff applies.
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _excerpt(body: bytes, redact: Callable[[str], str]) -> str:
    text = body[:80].decode("utf-8", errors="replace").replace("\n", " ")
    return repr(redact(text))


def _first_scorer_error(failures: BaseExceptionGroup[BaseException]) -> BaseException:
    for failure in failures.exceptions:
        if isinstance(failure, BaseExceptionGroup):
            return _first_scorer_error(failure)
        if isinstance(failure, ScorerError):
            return failure
    return failures.exceptions[0]


def parse_rerank_reply(
    body: bytes, document_count: int, redact: Callable[[str], str] = str
) -> tuple[list[float | None], int | None]:
    """Return one score per document (None when left out) and the reported total tokens.

    Raise ScorerError("bad_reply") for a body that is not the JSON of a rerank reply.
    """
    try:
        reply = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScorerError(
            "bad_reply", f"rerank reply is not JSON: starts with {_excerpt(body, redact)}"
        ) from exc

    results = _results_list(reply)
    if not results and document_count:
        raise ScorerError("bad_reply", f"rerank reply has no results for {document_count} documents")

    scores: list[float | None] = [None] * document_count
    for position, result in enumerate(results):
        if not isinstance(result, dict):
            raise ScorerError("bad_reply", f"rerank result {position} is not an object")
        index = result.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < document_count:
            raise ScorerError(
                "bad_reply",
                f"rerank result {position} has index {index!r}, expected 0 to {document_count - 1}",
            )
        if scores[index] is not None:
            raise ScorerError("bad_reply", f"rerank reply repeats index {index}")
        scores[index] = _score(result, position)

    return scores, _total_tokens(reply)


def _results_list(reply: Any) -> list[Any]:
    if isinstance(reply, list):
        return reply
    if isinstance(reply, dict):
        for key in ("results", "data"):
            if isinstance(reply.get(key), list):
                return reply[key]
    raise ScorerError("bad_reply", "rerank reply has neither a results nor a data list")


def _score(result: dict[str, Any], position: int) -> float:
    raw = result.get("relevance_score", result.get("score"))
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ScorerError("bad_reply", f"rerank result {position} has no numeric score, got {raw!r}"[:200])
    try:
        score = float(raw)
    except ValueError:
        raise ScorerError(
            "bad_reply", f"rerank result {position} has a non-numeric score {raw!r}"[:200]
        ) from None
    if not math.isfinite(score):
        raise ScorerError("bad_reply", f"rerank result {position} has a non-finite score {raw!r}")
    return score


def _total_tokens(reply: Any) -> int | None:
    usage = reply.get("usage") if isinstance(reply, dict) else None
    if not isinstance(usage, dict):
        return None
    for key in ("total_tokens", "prompt_tokens", "input_tokens"):
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def order_by_scores(scores: Sequence[float | None]) -> list[int]:
    """Return indices by descending score (ties in index order), then the unscored ones in index order."""
    scored = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: -scores[i])  # type: ignore[operator]
    left_out = [i for i, s in enumerate(scores) if s is None]
    return scored + left_out
