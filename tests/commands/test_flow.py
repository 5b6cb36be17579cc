from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from recmesh.cli import main
from recmesh.flow.text import flow_to_toml, read_flow_file
from recmesh.storage.sqlite import SQLiteStore
from services.gateway.flow_admin_servicer import FlowAdminServicer, add_to_server
from services.gateway.flow_manager import FlowManager
from tests.flow.flows import node, small_flow

TOKEN = "cli-test-token"

BROKEN_FLOW = """
[[nodes]]
id = "data_source"
type = "data_source"

[[nodes]]
id = "popular"
type = "non_personalized"
candidates = -3

[[nodes]]
id = "similar"
type = "item_to_item"

[[nodes]]
id = "recommend"
type = "recommend"
default_n = 10
max_n = 5

[[edges]]
source = "data_source"
target = "popular"

[[edges]]
source = "popular"
target = "similar"

[[edges]]
source = "similar"
target = "popular"

[[edges]]
source = "popular"
target = "ghost"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow_file = write(tmp_path / "broken.toml", BROKEN_FLOW)

    code = main(["flow", "validate", str(flow_file)])

    output = capsys.readouterr().out
    assert code == 1
    assert "invalid flow, 10 problems" in output
    assert "node 'popular', non_personalized.limits.candidates: must be between 0 and" in output
    assert "node 'recommend', recommend.default_n: must not exceed max_n (5)" in output
    assert "cycle: popular → similar → popular" in output
    assert "unknown node 'ghost'" in output
    assert "a recommender (non_personalized) node cannot feed a recommender (item_to_item) node" in output
    assert "node 'similar', edges: is unreachable" in output
    assert "node 'popular', edges: is unreachable" in output
    assert "node 'recommend', edges: is unreachable: no path leads to it from the data source" in output


def test_validate_lists_unknown_type_with_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = flow_to_toml(small_flow()).replace('type = "latest"', 'type = "lastest"', 1)
    text += '\n[[edges]]\nsource = "recommend"\ntarget = "data_source"\n'
    flow_file = write(tmp_path / "typo.toml", text)

    code = main(["flow", "validate", str(flow_file)])

    output = capsys.readouterr().out
    assert code == 1
    assert "got 'lastest'" in output
    assert "the flow has a cycle" in output
    assert "has no config" not in output


def test_validate_accepts_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow_file = write(tmp_path / "small.toml", flow_to_toml(small_flow()))

    code = main(["flow", "validate", str(flow_file)])

    assert code == 0
    assert "valid flow with 6 nodes and 7 edges" in capsys.readouterr().out


def test_validate_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow_file = write(tmp_path / "bad.toml", "[[nodes]\n")

    code = main(["flow", "validate", str(flow_file)])

    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith(f"recmesh flow validate: {flow_file}: invalid TOML")
    assert len(error.strip().splitlines()) == 1


def test_unreachable_gateway(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RECMESH_ADMIN_TOKEN", TOKEN)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    code = main(["flow", "versions", "--gateway", f"127.0.0.1:{closed_port}", "--timeout", "5"])

    assert code == 1
    assert capsys.readouterr().err == (
        f"recmesh flow versions: gateway at 127.0.0.1:{closed_port} is not reachable: "
        "start it with `recmesh serve gateway`\n"
    )


@pytest.fixture
async def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    monkeypatch.setenv("RECMESH_ADMIN_TOKEN", TOKEN)
    store = SQLiteStore(f"sqlite:///{tmp_path / 'cli.db'}")
    manager = FlowManager(store, small_flow(), reload_seconds=1.0)
    server = grpc.aio.server()
    add_to_server(server, FlowAdminServicer(manager, TOKEN))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
        store.close()


async def run_cli(*argv: str) -> int:
    # The command line uses a blocking gRPC client, so it runs beside the test's event loop.
    return await asyncio.to_thread(main, list(argv))


async def test_push_rejected_with_every_problem(
    gateway: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow_file = write(tmp_path / "broken.toml", BROKEN_FLOW)

    code = await run_cli("flow", "push", str(flow_file), "--gateway", gateway)

    error = capsys.readouterr().err
    assert code == 1
    assert "the flow has 10 problems" in error
    assert "cycle: popular → similar → popular" in error
    assert await run_cli("flow", "show", "--gateway", gateway) == 0
    assert "# live flow: the configuration file's flow" in capsys.readouterr().out


async def test_push_versions_rollback_reset(
    gateway: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = small_flow()
    node(edited, "recommend").recommend.max_n = 42
    flow_file = write(tmp_path / "edited.toml", flow_to_toml(edited))

    assert await run_cli("flow", "push", str(flow_file), "--comment", "max 42", "--gateway", gateway) == 0
    assert "as flow version 1; it is live" in capsys.readouterr().out
    assert await run_cli("flow", "push", str(flow_file), "--gateway", gateway) == 0
    capsys.readouterr()

    assert await run_cli("flow", "rollback", "1", "--gateway", gateway) == 0
    assert capsys.readouterr().out == "flow version 1 is live\n"

    assert await run_cli("flow", "versions", "--gateway", gateway) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split()[0] == "2"
    assert rows[2].split()[0] == "1"
    assert "yes" in rows[2]
    assert rows[2].endswith("max 42")

    pulled = tmp_path / "pulled.pb"
    assert await run_cli("flow", "pull", "-o", str(pulled), "--gateway", gateway) == 0
    assert node(read_flow_file(pulled), "recommend").recommend.max_n == 42

    assert await run_cli("flow", "show", "--mermaid", "--gateway", gateway) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")

    assert await run_cli("flow", "reset", "--gateway", gateway) == 0
    assert capsys.readouterr().out == "the configuration file's flow (version 0) is live\n"


async def test_rollback_unknown_version(gateway: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = await run_cli("flow", "rollback", "9", "--gateway", gateway)

    assert code == 1
    assert "flow version 9 not found" in capsys.readouterr().err


async def test_wrong_token_rejected(
    gateway: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECMESH_ADMIN_TOKEN", "not-the-token")

    code = await run_cli("flow", "show", "--gateway", gateway)

    error = capsys.readouterr().err
    assert code == 1
    assert f"gateway at {gateway} rejected the admin token" in error
    assert "not-the-token" not in error
