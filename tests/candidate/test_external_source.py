from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from recmesh.user_context import UserContext
from services.candidate.external_source import ExternalSource
from services.candidate.source_error import SourceError


async def good(request: web.Request) -> web.Response:
    n = int(request.query["n"])
    if request.query["user_id"] == "scored":
        return web.json_response([{"id": "x", "score": 0.9}, {"id": "y", "score": 0.4}, {"id": 7}][:n])
    return web.json_response(["i1", "i2", "i1", 3, "i4"])


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.json_response(["late"])


async def broken(request: web.Request) -> web.Response:
    return web.Response(status=500, text="internal error")


async def not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>error</html>", content_type="text/html")


async def not_list(request: web.Request) -> web.Response:
    return web.json_response({"items": ["a"]})


async def bad_score(request: web.Request) -> web.Response:
    return web.json_response([{"id": "a", "score": "high"}])


@pytest.fixture
async def server():
    app = web.Application()
    for path, handler in (
        ("/good", good),
        ("/slow", slow),
        ("/broken", broken),
        ("/not-json", not_json),
        ("/not-list", not_list),
        ("/bad-score", bad_score),
    ):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as session:
        yield session


async def test_id_list_keeps_order_and_dedups(server, session):
    source = ExternalSource("ext", f"{server}/good", 1000, session)
    recommended = await source.recommend(UserContext(user_id="u"), 10)
    assert [item for item, _ in recommended] == ["i1", "i2", "3", "i4"]
    assert [score for _, score in recommended] == pytest.approx([1.0, 1 / 2, 1 / 4, 1 / 5])


async def test_scored_objects_and_n_passed(server, session):
    source = ExternalSource("ext", f"{server}/good", 1000, session)
    recommended = await source.recommend(UserContext(user_id="scored"), 2)
    assert recommended == [("x", 0.9), ("y", 0.4)]


async def test_reply_cut_to_n(server, session):
    source = ExternalSource("ext", f"{server}/good", 1000, session)
    assert len(await source.recommend(UserContext(user_id="u"), 2)) == 2


async def test_slow_endpoint_times_out(server, session):
    source = ExternalSource("ext", f"{server}/slow", 100, session)
    with pytest.raises(SourceError) as raised:
        await source.recommend(UserContext(user_id="u"), 5)
    assert raised.value.reason == "timeout"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/broken", "http_status"),
        ("/not-json", "bad_reply"),
        ("/not-list", "bad_reply"),
        ("/bad-score", "bad_reply"),
    ],
)
async def test_failing_endpoint_raises_reason(server, session, path: str, reason: str):
    source = ExternalSource("ext", f"{server}{path}", 1000, session)
    with pytest.raises(SourceError) as raised:
        await source.recommend(UserContext(user_id="u"), 5)
    assert raised.value.reason == reason


async def test_refused_connection_unavailable(session):
    # Bind and release a port so that nothing listens on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = ExternalSource("ext", f"http://127.0.0.1:{port}/x", 1000, session)
    with pytest.raises(SourceError) as raised:
        await source.recommend(UserContext(user_id="u"), 5)
    assert raised.value.reason == "unavailable"


def test_non_http_url_rejected():
    with pytest.raises(ValueError, match="http"):
        ExternalSource("ext", "ftp://127.0.0.1/x", 100, session=None)  # type: ignore[arg-type]
