"""The [recommend.ranker] switch form of the configuration file, and the flow it compiles to."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from recmesh.config import DEFAULT_CONFIG, ConfigError, load_config
from recmesh.flow.default import flow_from_config
from recmesh.flow.graph import RECOMMENDER_KINDS
from recmesh.flow.text import flow_to_toml, parse_flow_toml
from recmesh.flow.validate import validate_flow
from recmesh.v1 import flow_pb2

SWITCH = """
[[recommend.sources]]
name = "popular"
type = "non_personalized"

[recommend.ranker]
type = "switch"
fallback = "fm"
timeout_ms = 900
query_template = "{{ user.comment }}"
document_template = "{{ item.comment }}"

[recommend.ranker.reranker_api]
url = "http://127.0.0.1:8089/v1/rerank"
auth_token = "secret-token"
model = "parent-model"

[[recommend.ranker.branches]]
count = "positive"
max_count = 20
type = "llm"

[[recommend.ranker.branches]]
count = "positive"
min_count = 20
max_count = 100
type = "llm"
timeout_ms = 300
query_template = "{{ user.id }}"

[recommend.ranker.branches.reranker_api]
model = "branch-model"

[[recommend.ranker.branches]]
type = "fm"
fallback = "none"
"""


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "recmesh.toml"
    path.write_text(text)
    return load_config(path, env={})


def failure(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_branches_read_in_order(tmp_path: Path) -> None:
    ranker = load(tmp_path, SWITCH).recommend.ranker

    assert ranker.type == "switch"
    assert [(b.count, b.min_count, b.max_count) for b in ranker.branches] == [
        ("positive", 0, 20),
        ("positive", 20, 100),
        ("", 0, 0),
    ]
    assert [b.ranker.type for b in ranker.branches] == ["llm", "llm", "fm"]


def test_branch_inherits_unset_keys(tmp_path: Path) -> None:
    first, second, last = load(tmp_path, SWITCH).recommend.ranker.branches

    assert first.ranker.fallback == "fm"
    assert first.ranker.timeout_ms == 900
    assert first.ranker.query_template == "{{ user.comment }}"
    assert first.ranker.reranker_api.model == "parent-model"
    assert second.ranker.timeout_ms == 300
    assert second.ranker.query_template == "{{ user.id }}"
    assert second.ranker.document_template == "{{ item.comment }}"
    assert second.ranker.reranker_api.model == "branch-model"
    assert second.ranker.reranker_api.url == "http://127.0.0.1:8089/v1/rerank"
    assert second.ranker.reranker_api.auth_token == "secret-token"
    assert last.ranker.fallback == "none"


def test_branch_url_follows_environment(tmp_path: Path) -> None:
    path = tmp_path / "recmesh.toml"
    path.write_text(SWITCH)

    config = load_config(path, env={"RERANKER_URL": "http://127.0.0.1:9000/v1/rerank"})

    assert config.recommend.ranker.branches[0].ranker.reranker_api.url == "http://127.0.0.1:9000/v1/rerank"


def test_switch_compiles_to_valid_flow(tmp_path: Path) -> None:
    graph = flow_from_config(load(tmp_path, SWITCH).recommend)
    ranker = next(node.ranker for node in graph.nodes if node.id == "ranker")

    assert validate_flow(graph, RECOMMENDER_KINDS) == []
    assert ranker.type == flow_pb2.RANKER_TYPE_SWITCH
    assert ranker.fallback == flow_pb2.RANKER_TYPE_UNSPECIFIED
    assert [b.count for b in ranker.branches] == [
        flow_pb2.HISTORY_COUNT_POSITIVE,
        flow_pb2.HISTORY_COUNT_POSITIVE,
        flow_pb2.HISTORY_COUNT_UNSPECIFIED,
    ]
    assert ranker.branches[1].min_count == 20
    assert ranker.branches[1].max_count == 100
    assert ranker.branches[1].ranker.type == flow_pb2.RANKER_TYPE_LLM
    assert ranker.branches[1].ranker.fallback == flow_pb2.RANKER_TYPE_FM
    assert ranker.branches[1].ranker.timeout_ms == 300
    assert ranker.branches[1].ranker.reranker_api.model == "branch-model"
    assert ranker.branches[2].ranker.type == flow_pb2.RANKER_TYPE_FM


def test_compiled_switch_round_trips_as_flow_toml(tmp_path: Path) -> None:
    graph = flow_from_config(load(tmp_path, SWITCH).recommend)

    assert parse_flow_toml(flow_to_toml(graph)) == graph


def test_token_stays_out_of_flow(tmp_path: Path) -> None:
    graph = flow_from_config(load(tmp_path, SWITCH).recommend)

    assert b"secret-token" not in graph.SerializeToString()


def test_defaults_example_loads(tmp_path: Path) -> None:
    """The commented example in the packaged defaults, uncommented, is a valid switch."""
    lines = DEFAULT_CONFIG.read_text().splitlines()
    start = lines.index("# [[recommend.ranker.branches]]")
    example = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        example.append(line.removeprefix("#").removeprefix(" "))
    text = '[recommend.ranker]\ntype = "switch"\nfallback = "fm"\n\n' + "\n".join(example)
    tomllib.loads(text)

    ranker = load(tmp_path, text).recommend.ranker

    assert [(b.count, b.max_count, b.ranker.type, b.ranker.fallback) for b in ranker.branches] == [
        ("positive", 20, "llm", "fm"),
        ("", 0, "fm", "none"),
    ]


BRANCH = '[recommend.ranker]\ntype = "switch"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BRANCH, "recommend.ranker.branches: a switch ranker needs at least one"),
        (BRANCH + "branches = 3\n", "recommend.ranker.branches: must be an array of tables"),
        (
            BRANCH + "[[recommend.ranker.branches]]\ncount = 'positive'\nmax_count = 5\n",
            "recommend.ranker.branches[0].type: is missing",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'switch'\n",
            "recommend.ranker.branches[0].type: must be one of none, fm, llm, got 'switch'",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'fm'\nmax_cout = 5\n",
            "recommend.ranker.branches[0].max_cout: unknown key",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'fm'\ncount = 'likes'\nmax_count = 5\n",
            "recommend.ranker.branches[0].count: must be one of positive, all, got 'likes'",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'fm'\nmin_count = -1\n",
            "recommend.ranker.branches[0].min_count: must be between 0 and",
        ),
        (
            BRANCH
            + "[[recommend.ranker.branches]]\ntype = 'fm'\ncount = 'positive'\nmax_count = 5\n"
            + "[[recommend.ranker.branches]]\ntype = 'fm'\ncount = 'positive'\nmin_count = 9\nmax_count = 9\n"
            + "[[recommend.ranker.branches]]\ntype = 'fm'\n",
            "recommend.ranker.branches[1].max_count: must be greater than min_count (9), got 9",
        ),
        (
            BRANCH
            + "[[recommend.ranker.branches]]\ntype = 'llm'\ncount = 'positive'\nmax_count = 10\n"
            + "[[recommend.ranker.branches]]\ntype = 'fm'\ncount = 'positive'\nmin_count = 5\n",
            "recommend.ranker.branches[1]: overlaps branches[0]: both apply to counts from 5 to 9",
        ),
        (
            BRANCH
            + "[[recommend.ranker.branches]]\ntype = 'fm'\n"
            + "[[recommend.ranker.branches]]\ntype = 'llm'\ncount = 'positive'\nmax_count = 10\n",
            "recommend.ranker.branches[1]: can never apply: the default branch branches[0] comes before it",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'llm'\ncount = 'all'\nmax_count = 10\n",
            "recommend.ranker.branches: no branch applies to users whose all feedback count is from 10",
        ),
        (
            BRANCH
            + "[[recommend.ranker.branches]]\ntype = 'llm'\ncount = 'positive'\nmax_count = 10\n"
            + "[[recommend.ranker.branches]]\ntype = 'fm'\ncount = 'all'\nmin_count = 10\n",
            "recommend.ranker.branches[1].count: counts all feedbacks but branches[0] counts positive",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'fm'\n[recommend.ranker.branches.reranker_api]\n"
            "auth_token = 'x'\n",
            "recommend.ranker.branches[0].reranker_api.auth_token: unknown key",
        ),
        (
            BRANCH + "[[recommend.ranker.branches]]\ntype = 'llm'\n[recommend.ranker.branches.reranker_api]\n"
            "url = 'ftp://x'\n",
            "recommend.ranker.branches[0].reranker_api.url: must be an http:// or https:// URL",
        ),
        (
            '[recommend.ranker]\ntype = "fm"\n[[recommend.ranker.branches]]\ntype = "fm"\n',
            "recommend.ranker.branches: only a switch ranker has branches",
        ),
    ],
)
def test_bad_branch_names_key(tmp_path: Path, text: str, message: str) -> None:
    assert message in failure(tmp_path, text)
