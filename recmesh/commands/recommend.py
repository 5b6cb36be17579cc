"""`recmesh recommend USER_ID`: ask the gateway and print the items."""

from __future__ import annotations

import argparse
import json
import sys

import grpc
from google.protobuf import json_format

from recmesh.config import load_config
from recmesh.v1 import gateway_pb2, gateway_pb2_grpc


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("recommend", help="print recommendations for a user, from the gateway")
    parser.add_argument("user_id")
    parser.add_argument("-n", type=int, default=0, help="items to return (default: the flow's default_n)")
    parser.add_argument("--offset", type=int, default=0, help="items to skip, for paging (default: 0)")
    parser.add_argument(
        "--category", action="append", default=[], help="only items in this category (repeatable)"
    )
    parser.add_argument("--gateway", help="gateway address HOST:PORT (default from the config)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="deadline of the call in seconds (default: 5)"
    )
    parser.add_argument("--json", action="store_true", help="print the reply as JSON")
    parser.set_defaults(handler=run)


def format_reply(user_id: str, reply: gateway_pb2.RecommendResponse, offset: int = 0) -> str:
    ranker = f"{reply.ranker_used}, switch {reply.branch}" if reply.branch else reply.ranker_used
    lines = [f"recommendations for user {user_id} (flow version {reply.flow_version}, ranker {ranker})"]
    for rank, item in enumerate(reply.items, start=offset + 1):
        title = item.item.comment or "(no title)"
        source = item.sources[0].source if item.sources else "-"
        lines.append(f"{rank:>3}. {item.item_id:>8}  {title:<60.60}  {item.score:>10.4f}  {source}")
    if not reply.items:
        lines.append("  no items")
    for fallback in reply.fallbacks:
        lines.append(
            f"  fallback in {fallback.stage}: {fallback.reason} ({fallback.detail}); used {fallback.used}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    address = args.gateway or config.server.address("gateway")
    request = gateway_pb2.RecommendRequest(
        user_id=args.user_id, n=args.n, offset=args.offset, categories=args.category
    )
    with grpc.insecure_channel(address) as channel:
        try:
            reply = gateway_pb2_grpc.RecommendServiceStub(channel).Recommend(request, timeout=args.timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNAVAILABLE:
                print(
                    f"recmesh recommend: gateway at {address} is not reachable; start it with `recmesh serve all`",
                    file=sys.stderr,
                )
            else:
                print(f"recmesh recommend: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    if args.json:
        print(
            json.dumps(json_format.MessageToDict(reply, always_print_fields_with_no_presence=True), indent=2)
        )
    else:
        print(format_reply(args.user_id, reply, args.offset))
    return 0
