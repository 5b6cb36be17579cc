"""The throughput limit of the gRPC stack alone: three grpc.aio servers shaped like gateway →
candidate → ranker whose handlers do no work. `python -m benchmarks.noop_chain SERVICE PORT [PEERS]`."""

from __future__ import annotations

import asyncio
import sys

import grpc

from recmesh.v1 import (
    candidate_pb2,
    candidate_pb2_grpc,
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    ranker_pb2,
    ranker_pb2_grpc,
)


class NoopCandidates(candidate_pb2_grpc.CandidateServiceServicer):
    async def GetCandidates(self, request, context):  # type: ignore[no-untyped-def]
        return candidate_pb2.GetCandidatesResponse(
            candidates=[common_pb2.ScoredItem(item_id=str(i), score=1.0) for i in range(request.n)]
        )


class NoopRanker(ranker_pb2_grpc.RankerServiceServicer):
    async def Rank(self, request, context):  # type: ignore[no-untyped-def]
        return ranker_pb2.RankResponse(items=request.candidates, ranker_used="none")


class NoopGateway(gateway_pb2_grpc.RecommendServiceServicer):
    def __init__(self, candidate_address: str, ranker_address: str) -> None:
        self.candidates = candidate_pb2_grpc.CandidateServiceStub(
            grpc.aio.insecure_channel(candidate_address)
        )
        self.ranker = ranker_pb2_grpc.RankerServiceStub(grpc.aio.insecure_channel(ranker_address))

    async def Recommend(self, request, context):  # type: ignore[no-untyped-def]
        candidates = await self.candidates.GetCandidates(
            candidate_pb2.GetCandidatesRequest(user_id=request.user_id, n=100)
        )
        ranked = await self.ranker.Rank(
            ranker_pb2.RankRequest(user_id=request.user_id, candidates=candidates.candidates)
        )
        page = ranked.items[request.offset : request.offset + (request.n or 10)]
        return gateway_pb2.RecommendResponse(
            items=[gateway_pb2.RecommendedItem(item_id=i.item_id, score=i.score) for i in page],
            ranker_used="none",
        )


async def serve(service: str, port: int, peers: list[str]) -> None:
    server = grpc.aio.server()
    if service == "candidate":
        candidate_pb2_grpc.add_CandidateServiceServicer_to_server(NoopCandidates(), server)
    elif service == "ranker":
        ranker_pb2_grpc.add_RankerServiceServicer_to_server(NoopRanker(), server)
    else:
        gateway_pb2_grpc.add_RecommendServiceServicer_to_server(NoopGateway(*peers), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
