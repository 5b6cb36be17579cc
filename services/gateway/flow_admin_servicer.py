"""FlowAdminService: flow administration over gRPC, behind the admin token."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import NoReturn, TypeVar

import grpc

from recmesh.flow.problems import FlowProblem, FlowValidationError
from recmesh.storage import StoreError, StoreUnavailable
from recmesh.v1 import flow_pb2, gateway_pb2, gateway_pb2_grpc
from services.gateway.flow_manager import FlowManager, FlowVersionNotFound, StoredFlowError

log = logging.getLogger(__name__)

# Binary trailing metadata of INVALID_ARGUMENT and FAILED_PRECONDITION replies: a serialized
# ValidateFlowResponse with every problem, for clients that show them field by field.
PROBLEMS_TRAILER = "recmesh-flow-problems-bin"
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 1000
# Problems listed in a failed SetFlow's status; each takes up to a few hundred bytes of metadata.
MAX_PROBLEMS_IN_STATUS = 20
ADMIN_DISABLED_MESSAGE = (
    "flow administration is disabled on this gateway: set admin.token in the configuration file "
    "or the RECMESH_ADMIN_TOKEN environment variable, then restart the gateway"
)

Result = TypeVar("Result")


class FlowAdminServicer(gateway_pb2_grpc.FlowAdminServiceServicer):
    """Translates FlowAdminService calls into FlowManager calls; every call needs the admin token."""

    def __init__(self, manager: FlowManager, admin_token: str) -> None:
        self._manager = manager
        self._token = admin_token.encode("utf-8")

    def __repr__(self) -> str:
        return f"FlowAdminServicer(admin={'enabled' if self._token else 'disabled'})"

    async def GetFlow(
        self, request: gateway_pb2.GetFlowRequest, context: grpc.aio.ServicerContext
    ) -> flow_pb2.FlowGraph:
        await self._authorize(context)
        if request.version < 0:
            await _abort_invalid_version(context, request.version)
        if request.version == 0:
            return self._manager.current().graph
        snapshot = await self._call(context, self._manager.get, request.version)
        return snapshot.graph

    async def SetFlow(
        self, request: gateway_pb2.SetFlowRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.SetFlowResponse:
        await self._authorize(context)
        if not request.HasField("flow"):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "flow is missing: send the FlowGraph to save"
            )
        comment = request.comment or request.flow.comment
        version = await self._call(context, self._manager.set_flow, request.flow, comment)
        return gateway_pb2.SetFlowResponse(version=version)

    async def ValidateFlow(
        self, request: gateway_pb2.ValidateFlowRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.ValidateFlowResponse:
        await self._authorize(context)
        problems = self._manager.validate(request.flow)
        return _validation_response(problems)

    async def ResetFlow(
        self, request: gateway_pb2.ResetFlowRequest, context: grpc.aio.ServicerContext
    ) -> flow_pb2.FlowGraph:
        await self._authorize(context)
        snapshot = await self._call(context, self._manager.reset)
        return snapshot.graph

    async def ListFlowVersions(
        self, request: gateway_pb2.ListFlowVersionsRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.ListFlowVersionsResponse:
        await self._authorize(context)
        if not 0 <= request.limit <= MAX_LIST_LIMIT:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"limit must be between 0 and {MAX_LIST_LIMIT} (0 lists {DEFAULT_LIST_LIMIT}), "
                f"got {request.limit}",
            )
        versions = await self._call(context, self._manager.list_versions, request.limit or DEFAULT_LIST_LIMIT)
        return gateway_pb2.ListFlowVersionsResponse(
            versions=[
                gateway_pb2.FlowVersion(
                    version=info.version, created_at=info.created_at, comment=info.comment, live=info.live
                )
                for info in versions
            ]
        )

    async def RollbackFlow(
        self, request: gateway_pb2.RollbackFlowRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.SetFlowResponse:
        await self._authorize(context)
        if request.version < 0:
            await _abort_invalid_version(context, request.version)
        # A saved flow that no longer validates is the store's state, not a fault of the request.
        version = await self._call(
            context,
            self._manager.rollback,
            request.version,
            invalid_code=grpc.StatusCode.FAILED_PRECONDITION,
        )
        return gateway_pb2.SetFlowResponse(version=version)

    async def _authorize(self, context: grpc.aio.ServicerContext) -> None:
        if not self._token:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, ADMIN_DISABLED_MESSAGE)
        metadata = context.invocation_metadata() or ()
        presented = _bearer_token(metadata)
        if presented is None:
            has_header = any(key.lower() == "authorization" for key, _ in metadata)
            log.warning(
                "admin call rejected: %s", "authorization is not Bearer" if has_header else "no token"
            )
            problem = (
                "authorization metadata is not of the form `Bearer TOKEN`"
                if has_header
                else "missing admin token: send metadata `authorization: Bearer TOKEN`"
            )
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"{problem} with the gateway's admin.token")
        # compare_digest takes the same time wherever the tokens differ, so timing reveals nothing.
        if not hmac.compare_digest(presented.encode("utf-8"), self._token):
            log.warning("admin call rejected: wrong token")
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "invalid admin token: use the gateway's admin.token (or RECMESH_ADMIN_TOKEN)",
            )

    async def _call(
        self,
        context: grpc.aio.ServicerContext,
        function: Callable[..., Result],
        *args: object,
        invalid_code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
    ) -> Result:
        """Run a FlowManager method in a worker thread, because the store blocks; map its errors to
        status codes."""
        try:
            return await asyncio.to_thread(function, *args)
        except FlowValidationError as exc:
            await _abort_with_problems(context, invalid_code, exc.problems)
        except FlowVersionNotFound as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        except StoredFlowError as exc:
            log.error("%s", exc)
            await context.abort(grpc.StatusCode.DATA_LOSS, str(exc))
        except StoreUnavailable as exc:
            # The store's message may carry a database address, which callers need not see.
            log.warning("flow admin call failed, the store is unavailable: %s", exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the flow store is unavailable; retry later")
        except StoreError as exc:
            log.error("flow admin call failed in the store: %s", exc)
            await context.abort(grpc.StatusCode.INTERNAL, "the flow store failed; see the gateway log")


def _bearer_token(metadata: object) -> str | None:
    for key, value in metadata:  # type: ignore[attr-defined]
        if key.lower() != "authorization" or not isinstance(value, str):
            continue
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


def _validation_response(problems: list[FlowProblem]) -> gateway_pb2.ValidateFlowResponse:
    return gateway_pb2.ValidateFlowResponse(
        valid=not problems,
        problems=[
            gateway_pb2.FlowProblem(node_id=p.node_id, field=p.field, message=p.message) for p in problems
        ],
    )


def format_problems(problems: list[FlowProblem], total: int | None = None) -> str:
    """Return one line per problem under a heading, as the INVALID_ARGUMENT message shows them.

    total is the flow's problem count when problems holds only the first of them."""
    count = len(problems) if total is None else total
    lines = [f"the flow has {count} problem{'s' if count != 1 else ''}:"]
    lines += [f"  {problem}" for problem in problems]
    return "\n".join(lines)


async def _abort_with_problems(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, problems: list[FlowProblem]
) -> NoReturn:
    # gRPC drops a call whose metadata exceeds 16 KiB, and the client then sees RESOURCE_EXHAUSTED
    # with no message, so the status carries the first problems only; ValidateFlow returns them all.
    total = len(problems)
    if total > MAX_PROBLEMS_IN_STATUS:
        omitted = total - MAX_PROBLEMS_IN_STATUS
        problems = [
            *problems[:MAX_PROBLEMS_IN_STATUS],
            FlowProblem("", "", f"{omitted} more problems omitted; call ValidateFlow to list them all"),
        ]
    details = _validation_response(problems).SerializeToString()
    await context.abort(
        code, format_problems(problems, total), trailing_metadata=((PROBLEMS_TRAILER, details),)
    )
    raise AssertionError("context.abort returned")  # abort always raises; this satisfies NoReturn


async def _abort_invalid_version(context: grpc.aio.ServicerContext, version: int) -> NoReturn:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"version must not be negative, got {version}")
    raise AssertionError("context.abort returned")


def add_to_server(server: grpc.aio.Server, servicer: FlowAdminServicer) -> None:
    gateway_pb2_grpc.add_FlowAdminServiceServicer_to_server(servicer, server)
