from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recmesh.config import load_config
from recmesh.flow.default import flow_from_config
from recmesh.flow.text import (
    FlowFileError,
    flow_to_toml,
    parse_flow_bytes,
    parse_flow_toml,
    read_flow_file,
    write_flow_file,
)
from recmesh.v1 import flow_pb2
from tests.flow.flows import llm_ranker, node, small_flow

HAND_WRITTEN = """
comment = "popular items, ranked by the FM model"

[[nodes]]
id = "data_source"
type = "data_source"
positive_feedback_types = ["like", "star"]

[[nodes]]
id = "popular"
type = "non_personalized"
candidates = 50
quota = 10
window_seconds = 604800

[[nodes]]
id = "ranker"
type = "ranker"
ranker = "llm"
fallback = "fm"
query_template = '''
{% for f in feedback %}{{ f.item.comment }}
{% endfor %}'''

[nodes.reranker_api]
url = "http://127.0.0.1:8089/v1/rerank"

[[nodes]]
id = "recommend"
type = "recommend"
default_n = 10
max_n = 50

[[edges]]
source = "data_source"
target = "popular"
"""


def test_hand_written_toml_parses() -> None:
    graph = parse_flow_toml(HAND_WRITTEN, "flow.toml")

    assert graph.comment == "popular items, ranked by the FM model"
    assert [n.id for n in graph.nodes] == ["data_source", "popular", "ranker", "recommend"]
    assert list(node(graph, "data_source").data_source.positive_feedback_types) == ["like", "star"]
    popular = node(graph, "popular").non_personalized
    assert popular.limits.candidates == 50
    assert popular.limits.quota == 10
    assert popular.window_seconds == 604800
    ranker = node(graph, "ranker").ranker
    assert ranker.type == flow_pb2.RANKER_TYPE_LLM
    assert ranker.fallback == flow_pb2.RANKER_TYPE_FM
    assert ranker.query_template == "{% for f in feedback %}{{ f.item.comment }}\n{% endfor %}"
    assert ranker.reranker_api.url == "http://127.0.0.1:8089/v1/rerank"
    assert node(graph, "recommend").recommend.max_n == 50
    assert [(e.source, e.target) for e in graph.edges] == [("data_source", "popular")]


def test_default_flow_round_trips() -> None:
    graph = flow_from_config(load_config(env={}).recommend)

    assert parse_flow_toml(flow_to_toml(graph)) == graph


def test_switch_ranker_round_trips() -> None:
    graph = small_flow()
    graph.version = 7
    graph.created_at = 1_700_000_000
    ranker = node(graph, "ranker").ranker
    ranker.type = flow_pb2.RANKER_TYPE_SWITCH
    ranker.branches.add(count=flow_pb2.HISTORY_COUNT_POSITIVE, max_count=5, ranker=llm_ranker())
    ranker.branches.add(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM))
    graph.nodes.add(
        id="similar",
        item_to_item=flow_pb2.ItemToItemConfig(
            name="similar", similarity=flow_pb2.SIMILARITY_EMBEDDING, context_size=3
        ),
    )

    text = flow_to_toml(graph)

    assert "[[nodes.branches]]" in text
    assert "[nodes.branches.reranker_api]" in text
    assert parse_flow_toml(text) == graph


@given(st.text())
def test_any_comment_and_template_round_trip(text: str) -> None:
    graph = small_flow()
    graph.comment = text
    node(graph, "ranker").ranker.document_template = text

    assert parse_flow_toml(flow_to_toml(graph)) == graph


def test_binary_flow_is_detected() -> None:
    graph = small_flow()

    assert parse_flow_bytes(graph.SerializeToString(), "flow.pb") == graph


def test_file_round_trip_in_both_forms(tmp_path: Path) -> None:
    graph = small_flow()
    for name in ("flow.toml", "flow.pb"):
        path = tmp_path / name
        write_flow_file(path, graph)

        assert read_flow_file(path) == graph
    assert (tmp_path / "flow.toml").read_text().startswith("[[nodes]]")


def test_invalid_toml_names_file_and_line() -> None:
    with pytest.raises(FlowFileError, match=r"^flow\.toml: invalid TOML: .*line 2"):
        parse_flow_toml('[[nodes]]\nid = "unterminated\n', "flow.toml")


def test_unknown_key_names_node_and_key() -> None:
    text = '[[nodes]]\nid = "popular"\ntype = "latest"\ncandidate = 5\n'

    with pytest.raises(FlowFileError, match=r"nodes\[0\] \(id 'popular'\): unknown key 'candidate'"):
        parse_flow_toml(text, "flow.toml")


def test_unknown_node_type() -> None:
    with pytest.raises(FlowFileError, match="type: must be one of data_source, latest"):
        parse_flow_toml('[[nodes]]\nid = "x"\ntype = "popular"\n', "flow.toml")


def test_wrong_value_type() -> None:
    with pytest.raises(FlowFileError, match="candidates: must be an integer, got 'many'"):
        parse_flow_toml('[[nodes]]\nid = "x"\ntype = "latest"\ncandidates = "many"\n', "flow.toml")


def test_int32_overflow() -> None:
    with pytest.raises(FlowFileError, match="does not fit in a 32-bit integer"):
        parse_flow_toml('[[nodes]]\nid = "x"\ntype = "latest"\nquota = 3000000000\n', "flow.toml")


def test_unknown_enum_value() -> None:
    with pytest.raises(FlowFileError, match="ranker: must be one of unspecified, none, fm, llm, switch"):
        parse_flow_toml('[[nodes]]\nid = "r"\ntype = "ranker"\nranker = "bert"\n', "flow.toml")


def test_garbage_binary_is_rejected() -> None:
    with pytest.raises(FlowFileError, match=r"^blob: neither TOML text nor a binary FlowGraph"):
        parse_flow_bytes(b"\xff\xfe\x00\x01garbage", "blob")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(FlowFileError, match=r"absent\.toml: cannot be read"):
        read_flow_file(path)
