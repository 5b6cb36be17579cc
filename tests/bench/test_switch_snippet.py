from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.bench.switch_snippet import switch_from_snippet, switch_snippet
from recmesh.config import DEFAULT_CONFIG, load_config
from recmesh.flow.default import flow_from_config
from recmesh.flow.validate import validate_flow
from recmesh.v1 import flow_pb2

QUERY = 'A viewer who liked: {% for f in feedback %}{{ f.item.comment }} "{{ f.item_id }}"\n{% endfor %}'
DOCUMENT = "{{ item.comment }} [{{ item.categories | join(', ') }}]"
# Keys of the packaged [recommend.ranker] that the snippet does not set, and a merge keeps.
KEPT_KEYS = ("timeout_ms", "connect_timeout_ms", "max_documents", "breaker_")


def load_snippet(tmp_path: Path, snippet: str) -> flow_pb2.FlowGraph:
    """Merge the snippet into the packaged configuration as the printed report describes, and build its flow."""
    packaged = DEFAULT_CONFIG.read_text(encoding="utf-8")
    start = packaged.index("[recommend.ranker]\n")
    end = packaged.index("[recommend.ranker.reranker_api]\n")
    kept_keys = [line for line in packaged[start:end].splitlines()[1:] if line.startswith(KEPT_KEYS)]
    first_line, rest = snippet.split("\n", 1)
    merged = f"{packaged[:start]}{first_line}\n" + "\n".join(kept_keys) + f"\n{rest}\n{packaged[end:]}"
    path = tmp_path / "recmesh.toml"
    path.write_text(merged, encoding="utf-8")
    return flow_from_config(load_config(path, env={}).recommend)


@pytest.mark.parametrize("threshold", [0, 1, 12, None])
def test_snippet_loads_and_validates(tmp_path: Path, threshold: int | None):
    graph = load_snippet(tmp_path, switch_snippet(threshold, QUERY, DOCUMENT))

    assert validate_flow(graph) == []


def test_snippet_sets_threshold(tmp_path: Path):
    ranker = switch_from_snippet(switch_snippet(12, QUERY, DOCUMENT))

    assert ranker.type == flow_pb2.RANKER_TYPE_SWITCH
    first, default = ranker.branches
    assert first.count == flow_pb2.HISTORY_COUNT_POSITIVE
    assert first.min_count == 0
    assert first.max_count == 12
    assert first.ranker.type == flow_pb2.RANKER_TYPE_LLM
    assert first.ranker.fallback == flow_pb2.RANKER_TYPE_FM
    assert first.ranker.query_template == QUERY
    assert first.ranker.document_template == DOCUMENT
    assert default.max_count == 0
    assert default.ranker.type == flow_pb2.RANKER_TYPE_FM


def test_snippet_matches_config_file(tmp_path: Path):
    snippet = switch_snippet(12, QUERY, DOCUMENT)

    graph = load_snippet(tmp_path, snippet)

    ranker = next(node.ranker for node in graph.nodes if node.HasField("ranker"))
    assert ranker == switch_from_snippet(snippet)


@pytest.mark.parametrize(
    ("threshold", "ranker_type"), [(0, flow_pb2.RANKER_TYPE_FM), (None, flow_pb2.RANKER_TYPE_LLM)]
)
def test_extreme_threshold_is_single_default(threshold: int | None, ranker_type: int):
    ranker = switch_from_snippet(switch_snippet(threshold, QUERY, DOCUMENT))

    assert len(ranker.branches) == 1
    assert ranker.branches[0].max_count == 0
    assert ranker.branches[0].ranker.type == ranker_type
