from __future__ import annotations

import pytest

from recmesh.bench.flow_settings import BenchFlowError, bench_flow, llm_ranker_config
from recmesh.config import RerankerApiSettings
from recmesh.user_context import FeedbackTypes
from recmesh.v1 import flow_pb2
from tests.flow.flows import llm_ranker, node, small_flow

API = RerankerApiSettings(url="http://127.0.0.1:9/v1/rerank", auth_token="secret-token", model="config-model")
DEFAULTS = FeedbackTypes(positive=("star",), read=("view",), negative=("skip",))


def flow_with_ranker(ranker: flow_pb2.RankerConfig) -> flow_pb2.FlowGraph:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(ranker)
    return graph


def test_llm_node_used():
    flow = bench_flow(flow_with_ranker(llm_ranker()), "test flow", API, DEFAULTS)
    assert flow.llm.query_template == "{{ user.comment }}"
    assert flow.llm.model == "m"
    assert flow.llm.url == "http://127.0.0.1:8089/v1/rerank"


def test_config_api_fills_empty_node_fields():
    ranker = llm_ranker()
    ranker.ClearField("reranker_api")
    flow = bench_flow(flow_with_ranker(ranker), "test flow", API, DEFAULTS)
    assert flow.llm.url == API.url
    assert flow.llm.model == "config-model"


def test_types_from_data_source_then_defaults():
    flow = bench_flow(flow_with_ranker(llm_ranker()), "test flow", API, DEFAULTS)
    assert flow.types.positive == ("like",)
    assert flow.types.read == ("view",)
    assert flow.types.negative == ("skip",)


def test_context_size_from_recommend_node():
    graph = flow_with_ranker(llm_ranker())
    assert bench_flow(graph, "test flow", API, DEFAULTS).context_size == 10
    node(graph, "recommend").recommend.context_size = 3
    assert bench_flow(graph, "test flow", API, DEFAULTS).context_size == 3


def test_switch_uses_first_llm_branch():
    switch = flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_SWITCH)
    switch.branches.add(max_count=5, ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM))
    switch.branches.add(ranker=llm_ranker())
    assert llm_ranker_config(switch, "ranker", "test flow") == llm_ranker()


def test_fm_node_with_templates_used():
    ranker = flow_pb2.RankerConfig(
        type=flow_pb2.RANKER_TYPE_FM, query_template="q {{ user.id }}", document_template="d"
    )
    assert llm_ranker_config(ranker, "ranker", "test flow").query_template == "q {{ user.id }}"


@pytest.mark.parametrize(
    "ranker",
    [
        flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM),
        flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_LLM, query_template="q"),
        flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_SWITCH),
    ],
)
def test_ranker_without_templates_rejected(ranker: flow_pb2.RankerConfig):
    with pytest.raises(
        BenchFlowError, match="has no llm ranker with a query_template and a document_template"
    ):
        bench_flow(flow_with_ranker(ranker), "flow file f.toml", API, DEFAULTS)


def test_error_names_flow_node_and_type():
    graph = flow_with_ranker(flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM))
    with pytest.raises(BenchFlowError) as caught:
        bench_flow(graph, "flow file f.toml", API, DEFAULTS)
    assert "flow file f.toml" in str(caught.value)
    assert "ranker node 'ranker' (fm)" in str(caught.value)


def test_fingerprint_ignores_url_but_not_templates():
    base = bench_flow(flow_with_ranker(llm_ranker()), "a", API, DEFAULTS)
    moved = llm_ranker()
    moved.reranker_api.url = "http://127.0.0.1:1/v1/rerank"
    changed = llm_ranker()
    changed.document_template = "{{ item.id }}"
    assert bench_flow(flow_with_ranker(moved), "b", API, DEFAULTS).fingerprint() == base.fingerprint()
    assert bench_flow(flow_with_ranker(changed), "c", API, DEFAULTS).fingerprint() != base.fingerprint()
