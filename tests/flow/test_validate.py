from __future__ import annotations

import pytest

from recmesh.config import load_config
from recmesh.flow import limits
from recmesh.flow.default import flow_from_config
from recmesh.flow.graph import RECOMMENDER_KINDS
from recmesh.flow.problems import FlowProblem
from recmesh.flow.validate import validate_flow
from recmesh.v1 import flow_pb2
from tests.flow.flows import llm_ranker, node, small_flow


def find(problems: list[FlowProblem], node_id: str, field: str, text: str = "") -> FlowProblem:
    for problem in problems:
        if problem.node_id == node_id and problem.field == field and text in problem.message:
            return problem
    raise AssertionError(
        f"no problem ({node_id!r}, {field!r}, {text!r}) among:\n" + "\n".join(map(str, problems))
    )


def test_small_flow_is_valid() -> None:
    assert validate_flow(small_flow()) == []


def test_packaged_default_flow_is_valid() -> None:
    graph = flow_from_config(load_config(env={}).recommend)

    assert validate_flow(graph, RECOMMENDER_KINDS) == []


def test_cycle_names_its_nodes() -> None:
    graph = small_flow()
    graph.nodes.add(id="similar", item_to_item=flow_pb2.ItemToItemConfig(name="similar"))
    graph.edges.add(source="popular", target="similar")
    graph.edges.add(source="similar", target="popular")

    problem = find(validate_flow(graph), "popular", "edges", "cycle")

    assert "popular → similar → popular" in problem.message


def test_self_loop_is_a_cycle() -> None:
    graph = small_flow()
    graph.edges.add(source="ranker", target="ranker")

    problem = find(validate_flow(graph), "ranker", "edges", "cycle")

    assert "ranker → ranker" in problem.message


def test_missing_data_source() -> None:
    graph = small_flow()
    del graph.nodes[0]
    graph.ClearField("edges")
    graph.edges.add(source="popular", target="ranker")
    graph.edges.add(source="ranker", target="recommend")

    find(validate_flow(graph), "", "nodes", "no data source node")


def test_several_data_sources_are_named() -> None:
    graph = small_flow()
    graph.nodes.add(id="second_source", data_source=flow_pb2.DataSourceConfig())

    problem = find(validate_flow(graph), "", "nodes", "2 data source nodes")

    assert "'second_source'" in problem.message


def test_missing_recommend_node() -> None:
    graph = small_flow()
    del graph.nodes[5]
    graph.ClearField("edges")

    find(validate_flow(graph), "", "nodes", "no recommend node")


def test_several_recommend_nodes() -> None:
    graph = small_flow()
    graph.nodes.add(id="recommend_again", recommend=flow_pb2.RecommendConfig(default_n=1, max_n=1))
    graph.edges.add(source="ranker", target="recommend_again")

    find(validate_flow(graph), "", "nodes", "2 recommend nodes")


def test_several_rankers() -> None:
    graph = small_flow()
    graph.nodes.add(id="ranker_two", ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE))
    graph.edges.add(source="popular", target="ranker_two")
    graph.edges.add(source="ranker_two", target="recommend")

    find(validate_flow(graph), "", "nodes", "2 ranker nodes")


def test_dangling_edge_names_edge_and_id() -> None:
    graph = small_flow()
    graph.edges.add(source="ghost", target="ranker")

    problem = find(validate_flow(graph), "", "edges[7].source", "unknown node 'ghost'")

    assert "ghost → ranker" in problem.message


def test_edge_with_unknown_target() -> None:
    graph = small_flow()
    graph.edges.add(source="popular", target="nowhere")

    find(validate_flow(graph), "", "edges[7].target", "unknown node 'nowhere'")


def test_duplicate_node_id() -> None:
    graph = small_flow()
    graph.nodes.add(id="popular", latest=flow_pb2.LatestConfig())

    find(validate_flow(graph), "popular", "id", "used by 2 nodes")


def test_empty_node_id() -> None:
    graph = small_flow()
    graph.nodes.add(id="", latest=flow_pb2.LatestConfig())

    find(validate_flow(graph), "", "nodes[6].id", "is empty")


def test_node_without_config() -> None:
    graph = small_flow()
    graph.nodes.add(id="bare")

    find(validate_flow(graph), "bare", "config", "has no config")


def test_duplicate_edge() -> None:
    graph = small_flow()
    graph.edges.add(source="popular", target="ranker")

    find(validate_flow(graph), "popular", "edges[7]", "duplicate edge")


def test_recommender_type_missing_from_candidate_service() -> None:
    graph = small_flow()
    served = RECOMMENDER_KINDS - {"latest"}

    problem = find(validate_flow(graph, served), "latest", "latest", "no latest recommender")

    assert "collaborative" in problem.message


def test_query_template_syntax_error_names_line() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.query_template = "first line\n{% for f in feedback %}{{ f }}"

    problem = find(validate_flow(graph), "ranker", "ranker.query_template", "does not compile")

    assert "line 2" in problem.message


def test_document_template_syntax_error() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.document_template = "{{ item.comment "

    find(validate_flow(graph), "ranker", "ranker.document_template", "line 1")


def test_template_over_size_limit() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.document_template = "x" * (limits.MAX_TEMPLATE_BYTES + 1)

    find(validate_flow(graph), "ranker", "ranker.document_template", "bytes long")


@pytest.mark.parametrize("candidates", [-1, limits.MAX_CANDIDATES + 1])
def test_candidates_out_of_range(candidates: int) -> None:
    graph = small_flow()
    node(graph, "popular").non_personalized.limits.candidates = candidates

    find(validate_flow(graph), "popular", "non_personalized.limits.candidates", str(candidates))


def test_negative_quota() -> None:
    graph = small_flow()
    node(graph, "latest").latest.limits.quota = -5

    find(validate_flow(graph), "latest", "latest.limits.quota", "-5")


def test_negative_window_seconds() -> None:
    graph = small_flow()
    node(graph, "popular").non_personalized.window_seconds = -1

    find(validate_flow(graph), "popular", "non_personalized.window_seconds", "must not be negative")


def test_item_to_item_context_size_too_large() -> None:
    graph = small_flow()
    graph.nodes.add(
        id="similar", item_to_item=flow_pb2.ItemToItemConfig(context_size=limits.MAX_CONTEXT_SIZE + 1)
    )
    graph.edges.add(source="data_source", target="similar")
    graph.edges.add(source="similar", target="ranker")

    find(validate_flow(graph), "similar", "item_to_item.context_size", "between 0 and")


def test_recommend_context_size_negative() -> None:
    graph = small_flow()
    node(graph, "recommend").recommend.context_size = -1

    find(validate_flow(graph), "recommend", "recommend.context_size")


def test_default_n_above_max_n() -> None:
    graph = small_flow()
    node(graph, "recommend").recommend.default_n = 200

    find(validate_flow(graph), "recommend", "recommend.default_n", "must not exceed max_n (100)")


def test_max_n_above_cap() -> None:
    graph = small_flow()
    node(graph, "recommend").recommend.max_n = limits.MAX_N_CAP + 1

    find(validate_flow(graph), "recommend", "recommend.max_n", str(limits.MAX_N_CAP))


@pytest.mark.parametrize("url", ["", "ftp://example.org/items", "127.0.0.1:9000"])
def test_external_url_must_be_http(url: str) -> None:
    graph = small_flow()
    graph.nodes.add(id="partner", external=flow_pb2.ExternalConfig(url=url, timeout_ms=500))
    graph.edges.add(source="data_source", target="partner")
    graph.edges.add(source="partner", target="ranker")

    find(validate_flow(graph), "partner", "external.url", "http")


@pytest.mark.parametrize("timeout_ms", [0, -1, limits.MAX_TIMEOUT_MS + 1])
def test_external_timeout_out_of_range(timeout_ms: int) -> None:
    graph = small_flow()
    graph.nodes.add(
        id="partner", external=flow_pb2.ExternalConfig(url="http://127.0.0.1:9/", timeout_ms=timeout_ms)
    )
    graph.edges.add(source="data_source", target="partner")
    graph.edges.add(source="partner", target="ranker")

    find(validate_flow(graph), "partner", "external.timeout_ms", str(timeout_ms))


def test_llm_ranker_max_documents_zero() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.max_documents = 0

    find(validate_flow(graph), "ranker", "ranker.max_documents", "between 1 and")


def test_llm_ranker_valid() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())

    assert validate_flow(graph) == []


def test_llm_ranker_without_reranker_url() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.reranker_api.url = ""

    find(validate_flow(graph), "ranker", "ranker.reranker_api.url", "is empty")


def test_llm_ranker_without_templates() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.ClearField("query_template")
    node(graph, "ranker").ranker.ClearField("document_template")
    problems = validate_flow(graph)

    find(problems, "ranker", "ranker.query_template", "is empty")
    find(problems, "ranker", "ranker.document_template", "is empty")


def test_llm_fallback_of_llm_ranker() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.CopyFrom(llm_ranker())
    node(graph, "ranker").ranker.fallback = flow_pb2.RANKER_TYPE_LLM

    find(validate_flow(graph), "ranker", "ranker.fallback", "must be none or fm, got llm")


def test_ranker_type_unset() -> None:
    graph = small_flow()
    node(graph, "ranker").ranker.type = flow_pb2.RANKER_TYPE_UNSPECIFIED

    find(validate_flow(graph), "ranker", "ranker.type", "got unspecified")


def test_node_unreachable_from_data_source() -> None:
    graph = small_flow()
    graph.nodes.add(id="orphan", collaborative=flow_pb2.CollaborativeConfig(name="orphan"))
    graph.edges.add(source="orphan", target="ranker")

    problem = find(validate_flow(graph), "orphan", "edges", "unreachable")

    assert "from the data source" in problem.message
    assert "to the recommend node" not in problem.message


def test_node_not_reaching_recommend() -> None:
    graph = small_flow()
    graph.nodes.add(id="dead_end", collaborative=flow_pb2.CollaborativeConfig(name="dead_end"))
    graph.edges.add(source="data_source", target="dead_end")

    problem = find(validate_flow(graph), "dead_end", "edges", "unreachable")

    assert "to the recommend node" in problem.message


def test_fallback_without_recommenders_is_allowed() -> None:
    graph = small_flow()
    edges = [edge for edge in graph.edges if edge.target != "fallback"]
    graph.ClearField("edges")
    graph.edges.extend(edges)

    assert validate_flow(graph) == []


def test_data_source_straight_to_recommend() -> None:
    graph = small_flow()
    graph.edges.add(source="data_source", target="recommend")

    problem = find(validate_flow(graph), "data_source", "edges[7]", "cannot feed a recommend node")

    assert "recommenders only" in problem.message


def test_ranker_to_recommender_edge() -> None:
    graph = small_flow()
    graph.edges.add(source="ranker", target="latest")

    find(validate_flow(graph), "ranker", "edges[7]", "a ranker node cannot feed a recommender (latest) node")


def test_too_many_nodes() -> None:
    graph = small_flow()
    for index in range(limits.MAX_NODES):
        graph.nodes.add(id=f"extra{index}", latest=flow_pb2.LatestConfig())
        graph.edges.add(source="data_source", target=f"extra{index}")
        graph.edges.add(source=f"extra{index}", target="fallback")

    find(
        validate_flow(graph),
        "",
        "nodes",
        f"has {limits.MAX_NODES + 6} nodes; the limit is {limits.MAX_NODES}",
    )


def test_too_many_edges() -> None:
    graph = small_flow()
    for _ in range(limits.MAX_EDGES):
        graph.edges.add(source="popular", target="fallback")

    find(validate_flow(graph), "", "edges", f"the limit is {limits.MAX_EDGES}")


def test_node_id_too_long() -> None:
    graph = small_flow()
    graph.nodes.add(id="x" * (limits.MAX_NODE_ID_CHARS + 1), latest=flow_pb2.LatestConfig())

    find(validate_flow(graph), "x" * (limits.MAX_NODE_ID_CHARS + 1), "id", "characters long")


def test_feedback_type_both_positive_and_negative() -> None:
    graph = small_flow()
    node(graph, "data_source").data_source.negative_feedback_types.append("like")

    find(validate_flow(graph), "data_source", "negative_feedback_types", "'like'")


def test_returns_every_problem_at_once() -> None:
    graph = small_flow()
    graph.edges.add(source="ranker", target="popular")  # a cycle and a wrong-kind edge
    graph.edges.add(source="ghost", target="ranker")
    node(graph, "recommend").recommend.default_n = 500
    node(graph, "popular").non_personalized.limits.quota = -1
    graph.nodes.add(id="partner", external=flow_pb2.ExternalConfig(url="", timeout_ms=100))
    graph.edges.add(source="data_source", target="partner")
    graph.edges.add(source="partner", target="ranker")
    served = RECOMMENDER_KINDS - {"external"}

    problems = validate_flow(graph, served)

    find(problems, "popular", "edges", "cycle")
    find(problems, "ranker", "edges[7]", "cannot feed")
    find(problems, "", "edges[8].source", "ghost")
    find(problems, "recommend", "recommend.default_n")
    find(problems, "popular", "non_personalized.limits.quota")
    find(problems, "partner", "external", "no external recommender")
    find(problems, "partner", "external.url", "is empty")
    assert len(problems) == 7


class TestSwitchRanker:
    @staticmethod
    def switch_flow(*branches: flow_pb2.SwitchBranch) -> flow_pb2.FlowGraph:
        graph = small_flow()
        ranker = node(graph, "ranker").ranker
        ranker.type = flow_pb2.RANKER_TYPE_SWITCH
        ranker.branches.extend(branches)
        return graph

    @staticmethod
    def branch(low: int, high: int, ranker: flow_pb2.RankerConfig | None = None) -> flow_pb2.SwitchBranch:
        return flow_pb2.SwitchBranch(
            count=flow_pb2.HISTORY_COUNT_POSITIVE,
            min_count=low,
            max_count=high,
            ranker=ranker or flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_NONE),
        )

    def test_disjoint_branches_with_default_are_valid(self) -> None:
        graph = self.switch_flow(
            self.branch(0, 5),
            self.branch(5, 0, llm_ranker()),
            flow_pb2.SwitchBranch(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)),
        )

        assert validate_flow(graph) == []

    def test_overlapping_branches(self) -> None:
        graph = self.switch_flow(self.branch(0, 10), self.branch(5, 20))

        problem = find(validate_flow(graph), "ranker", "ranker.branches[1]", "overlaps branches[0]")

        assert "from 5 to 9" in problem.message

    def test_branch_after_default_never_applies(self) -> None:
        graph = self.switch_flow(
            flow_pb2.SwitchBranch(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)),
            self.branch(0, 5),
        )

        find(validate_flow(graph), "ranker", "ranker.branches[1]", "can never apply")

    def test_empty_branch_range(self) -> None:
        graph = self.switch_flow(self.branch(5, 5))

        find(validate_flow(graph), "ranker", "ranker.branches[0].max_count", "never apply")

    def test_invalid_branch_ranker(self) -> None:
        broken = llm_ranker()
        broken.query_template = "{% if %}"
        graph = self.switch_flow(self.branch(0, 5, broken))

        find(validate_flow(graph), "ranker", "ranker.branches[0].ranker.query_template", "does not compile")

    def test_switch_inside_switch(self) -> None:
        graph = self.switch_flow(self.branch(0, 5, flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_SWITCH)))

        find(validate_flow(graph), "ranker", "ranker.branches[0].ranker.type", "got switch")

    def test_switch_without_branches(self) -> None:
        graph = self.switch_flow()

        find(validate_flow(graph), "ranker", "ranker.branches", "at least one branch")

    def test_uncovered_counts_without_default(self) -> None:
        graph = self.switch_flow(self.branch(0, 5), self.branch(6, 0))

        problem = find(validate_flow(graph), "ranker", "ranker.branches", "no branch applies")

        assert "from 5 to 5" in problem.message

    def test_full_partition_without_default_is_valid(self) -> None:
        graph = self.switch_flow(self.branch(5, 0, llm_ranker()), self.branch(0, 5))

        assert validate_flow(graph) == []

    def test_positive_and_all_counts_do_not_mix(self) -> None:
        counting_all = self.branch(20, 0)
        counting_all.count = flow_pb2.HISTORY_COUNT_ALL
        graph = self.switch_flow(
            self.branch(0, 5),
            counting_all,
            flow_pb2.SwitchBranch(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)),
        )

        find(validate_flow(graph), "ranker", "ranker.branches[1].count", "must count the same")

    def test_bounded_branch_needs_count(self) -> None:
        graph = self.switch_flow(
            flow_pb2.SwitchBranch(max_count=5, ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)),
            flow_pb2.SwitchBranch(ranker=flow_pb2.RankerConfig(type=flow_pb2.RANKER_TYPE_FM)),
        )

        find(validate_flow(graph), "ranker", "ranker.branches[0].count", "positive or all")

    def test_branch_without_ranker(self) -> None:
        graph = self.switch_flow(flow_pb2.SwitchBranch())

        find(validate_flow(graph), "ranker", "ranker.branches[0].ranker.type", "got unspecified")

    def test_fallback_on_switch_itself(self) -> None:
        graph = self.switch_flow(flow_pb2.SwitchBranch(ranker=llm_ranker()))
        node(graph, "ranker").ranker.fallback = flow_pb2.RANKER_TYPE_FM

        find(validate_flow(graph), "ranker", "ranker.fallback", "each branch")

    def test_too_many_branches(self) -> None:
        branches = [self.branch(i, i + 1) for i in range(limits.MAX_SWITCH_BRANCHES + 1)]
        graph = self.switch_flow(*branches)

        find(validate_flow(graph), "ranker", "ranker.branches", "the limit is")

    def test_branches_on_non_switch_ranker(self) -> None:
        graph = small_flow()
        node(graph, "ranker").ranker.branches.append(self.branch(0, 5))

        find(validate_flow(graph), "ranker", "ranker.branches", "only a switch ranker")


def test_recommender_to_recommend_without_ranker() -> None:
    graph = small_flow()
    del graph.nodes[3]
    edges = [(e.source, e.target) for e in graph.edges if "ranker" not in (e.source, e.target)]
    graph.ClearField("edges")
    for source, target in [*edges, ("popular", "recommend")]:
        graph.edges.add(source=source, target=target)

    assert validate_flow(graph) == []


def test_recommender_to_recommend_beside_ranker() -> None:
    graph = small_flow()
    graph.edges.add(source="popular", target="recommend")

    find(validate_flow(graph), "popular", "edges[7]", "the flow has a ranker")
