"""`recmesh flow validate|show|push|pull|versions|rollback|reset`.

`validate` works offline on a file. The other actions call the gateway's FlowAdminService with the
admin token from the configuration (admin.token, or RECMESH_ADMIN_TOKEN).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from recmesh.config import load_config
from recmesh.flow.mermaid import flow_to_mermaid
from recmesh.flow.text import FlowFileError, UnknownNodeTypes, flow_to_toml, read_flow_file, write_flow_file
from recmesh.flow.validate import validate_flow
from recmesh.v1 import flow_pb2, gateway_pb2, gateway_pb2_grpc

DEFAULT_TIMEOUT_SECONDS = 10.0


class CommandError(Exception):
    """A flow action failed; the message is the line printed to stderr."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("flow", help="validate, show and change the recommendation flow")
    actions = parser.add_subparsers(dest="flow_action", required=True, metavar="ACTION")

    validate = actions.add_parser("validate", help="check a flow file offline and list every problem")
    validate.add_argument("file", help="a TOML flow file or a binary FlowGraph")
    validate.set_defaults(handler=run_validate)

    show = actions.add_parser("show", help="print the live flow (or a saved version) as TOML or Mermaid")
    show.add_argument("--mermaid", action="store_true", help="print a Mermaid flowchart instead of TOML")
    show.add_argument("--version", type=int, default=0, help="a saved version (default: the live flow)")
    _add_gateway_options(show, run_show)

    push = actions.add_parser("push", help="validate a flow file on the gateway, save it and make it live")
    push.add_argument("file", help="a TOML flow file or a binary FlowGraph")
    push.add_argument("--comment", default="", help="text saved with the version")
    _add_gateway_options(push, run_push)

    pull = actions.add_parser("pull", help="write the live flow (or a saved version) to a file or stdout")
    pull.add_argument(
        "-o", "--output", help="file to write; .pb, .bin or .binpb writes binary protobuf, else TOML"
    )
    pull.add_argument("--version", type=int, default=0, help="a saved version (default: the live flow)")
    _add_gateway_options(pull, run_pull)

    versions = actions.add_parser("versions", help="list the saved flow versions, newest first")
    versions.add_argument("--limit", type=int, default=50, help="versions to list (default: 50)")
    _add_gateway_options(versions, run_versions)

    rollback = actions.add_parser("rollback", help="make a saved version live again")
    rollback.add_argument("version", type=int, help="a version from `recmesh flow versions`; 0 resets")
    _add_gateway_options(rollback, run_rollback)

    reset = actions.add_parser("reset", help="make the configuration file's flow (version 0) live again")
    _add_gateway_options(reset, run_reset)


def _add_gateway_options(
    parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int]
) -> None:
    parser.add_argument(
        "--gateway", help="gateway address HOST:PORT (default: 127.0.0.1 and server.gateway.grpc_port)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"deadline of the call in seconds (default: {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.set_defaults(handler=_reporting_errors(handler))


def _reporting_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (CommandError, FlowFileError) as exc:
            print(f"recmesh flow {args.flow_action}: {exc}", file=sys.stderr)
            return 1

    return run


# Offline


def read_and_check(path: str) -> tuple[flow_pb2.FlowGraph, list[str]]:
    """Read a flow file and return it with every problem found offline: the file's unknown node
    types first, then what validation finds in the rest. Raise FlowFileError when it cannot be read."""
    try:
        graph = read_flow_file(path)
        file_problems: list[str] = []
        untyped: frozenset[str] = frozenset()
    except UnknownNodeTypes as exc:
        graph, file_problems, untyped = exc.graph, exc.problems, exc.node_ids
    problems = [
        str(problem)
        for problem in validate_flow(graph)
        if not (problem.node_id in untyped and problem.field == "config")
    ]
    return graph, file_problems + problems


def print_problems(path: str, problems: list[str]) -> None:
    print(f"{path}: invalid flow, {len(problems)} problem{'s' if len(problems) != 1 else ''}:")
    for problem in problems:
        print(f"  {problem}")


def run_validate(args: argparse.Namespace) -> int:
    try:
        graph, problems = read_and_check(args.file)
    except FlowFileError as exc:
        print(f"recmesh flow validate: {exc}", file=sys.stderr)
        return 1

    if not problems:
        print(f"{args.file}: valid flow with {len(graph.nodes)} nodes and {len(graph.edges)} edges")
        return 0
    print_problems(args.file, problems)
    return 1


# Online


class AdminClient:
    """A FlowAdminService stub that sends the admin token and turns failures into CommandError."""

    def __init__(self, args: argparse.Namespace) -> None:
        config = load_config(args.config)
        if not config.admin_token:
            raise CommandError(
                "no admin token configured: set admin.token in the configuration file or RECMESH_ADMIN_TOKEN "
                "to the gateway's token"
            )
        self.address = args.gateway or f"127.0.0.1:{config.server.gateway.grpc_port}"
        self.timeout = args.timeout
        self._metadata = (("authorization", f"Bearer {config.admin_token}"),)
        self._channel = grpc.insecure_channel(self.address)
        self._stub = gateway_pb2_grpc.FlowAdminServiceStub(self._channel)

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._channel.close()

    def call(self, method: str, request: Message) -> Any:
        try:
            return getattr(self._stub, method)(request, metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise CommandError(self._explain(exc)) from exc

    def _explain(self, exc: grpc.RpcError) -> str:
        code = exc.code()  # type: ignore[attr-defined]
        details = exc.details() or ""  # type: ignore[attr-defined]
        if code == grpc.StatusCode.UNAVAILABLE and "flow store" not in details:
            return f"gateway at {self.address} is not reachable: start it with `recmesh serve gateway`"
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return f"gateway at {self.address} did not reply within {self.timeout:g} s"
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return f"gateway at {self.address} rejected the admin token: {details}"
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return (
                f"the server at {self.address} does not serve flow administration; is it a recmesh gateway?"
            )
        if code in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAVAILABLE,
        ):
            return details
        return f"{code.name}: {details}"


def _get_flow(client: AdminClient, version: int) -> flow_pb2.FlowGraph:
    return client.call("GetFlow", gateway_pb2.GetFlowRequest(version=version))


def _header(graph: flow_pb2.FlowGraph, requested: int) -> str:
    which = "live flow" if requested == 0 else "saved flow"
    origin = "the configuration file's flow" if graph.version == 0 else f"version {graph.version}"
    return f"# {which}: {origin}"


def run_show(args: argparse.Namespace) -> int:
    with AdminClient(args) as client:
        graph = _get_flow(client, args.version)
    if args.mermaid:
        print(flow_to_mermaid(graph), end="")
    else:
        print(_header(graph, args.version))
        print(flow_to_toml(graph), end="")
    return 0


def run_push(args: argparse.Namespace) -> int:
    try:
        graph = read_flow_file(args.file)
    except UnknownNodeTypes:
        # Nothing is sent: list every problem of the file, as `flow validate` does.
        print_problems(args.file, read_and_check(args.file)[1])
        return 1
    with AdminClient(args) as client:
        reply = client.call("SetFlow", gateway_pb2.SetFlowRequest(flow=graph, comment=args.comment))
    print(f"saved {args.file} as flow version {reply.version}; it is live")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    with AdminClient(args) as client:
        graph = _get_flow(client, args.version)
    if not args.output:
        print(flow_to_toml(graph), end="")
        return 0
    write_flow_file(args.output, graph)
    print(f"wrote flow version {graph.version} to {args.output}", file=sys.stderr)
    return 0


def run_versions(args: argparse.Namespace) -> int:
    with AdminClient(args) as client:
        reply = client.call("ListFlowVersions", gateway_pb2.ListFlowVersionsRequest(limit=args.limit))
    print(f"{'VERSION':>7}  {'SAVED (UTC)':<20}  {'LIVE':<4}  COMMENT")
    for version in reply.versions:
        saved = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(version.created_at))
        print(f"{version.version:>7}  {saved:<20}  {'yes' if version.live else '':<4}  {version.comment}")
    if not any(version.live for version in reply.versions):
        print("the configuration file's flow (version 0) is live")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    with AdminClient(args) as client:
        reply = client.call("RollbackFlow", gateway_pb2.RollbackFlowRequest(version=args.version))
    if reply.version == 0:
        print("the configuration file's flow (version 0) is live")
    else:
        print(f"flow version {reply.version} is live")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    with AdminClient(args) as client:
        client.call("ResetFlow", gateway_pb2.ResetFlowRequest())
    print("the configuration file's flow (version 0) is live")
    return 0
