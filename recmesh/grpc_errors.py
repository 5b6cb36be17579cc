"""The one place where failures become gRPC status codes.

Servicers raise these (or let the listed library errors through) and `abort_on_error` turns them
into a status with a message naming what was wrong. Anything else is a bug: INTERNAL, logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from recmesh.storage import StoreUnavailable

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


class InvalidArgument(ValueError):
    """A request field is invalid; the message names the field."""


class NotFound(LookupError):
    """A requested entity or version does not exist."""


class Unavailable(RuntimeError):
    """A dependency cannot be reached right now; retrying later may succeed."""


STATUS_OF: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (StoreUnavailable, grpc.StatusCode.UNAVAILABLE),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def status_for(exc: BaseException) -> grpc.StatusCode | None:
    for error_type, code in STATUS_OF:
        if isinstance(exc, error_type):
            return code
    return None


def abort_on_error(handler: Handler) -> Handler:
    """Wrap a servicer method so that the errors above end the call with their status code."""

    @functools.wraps(handler)
    async def wrapper(self: object, request: object, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await handler(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code = status_for(exc)
            if code is None:
                raise
            if code == grpc.StatusCode.UNAVAILABLE:
                log.warning("%s: %s", handler.__name__, exc)
            await context.abort(code, str(exc))

    return wrapper  # type: ignore[return-value]
