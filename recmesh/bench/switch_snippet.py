"""The configuration snippet of a suggested switch, and the flow ranker config it loads as."""

from __future__ import annotations

import json

from recmesh.config import ranker_settings_from_toml
from recmesh.flow.default import ranker_config
from recmesh.flow.switch_branches import POSITIVE, BranchBounds, find_branch_problems
from recmesh.v1 import flow_pb2


def switch_snippet(threshold: int | None, query_template: str, document_template: str) -> str:
    """Write the [recommend.ranker] table of a switch that reranks users with fewer than threshold positives.

    threshold 0 gives a single default branch with FM, and None a single default branch with the
    LLM reranker. The templates are the benchmarked flow's, so the snippet sets what was measured.
    """
    bounded = threshold is not None and threshold > 0
    bounds = [BranchBounds(POSITIVE, 0, threshold)] if bounded else []
    bounds.append(BranchBounds(""))
    problems = find_branch_problems(bounds)
    if problems:
        raise ValueError(f"threshold {threshold} gives invalid branches: {problems[0].message}")

    lines = [
        "[recommend.ranker]",
        'type = "switch"',
        f"query_template = {_toml_string(query_template)}",
        f"document_template = {_toml_string(document_template)}",
    ]
    if bounded:
        lines += ["", "[[recommend.ranker.branches]]", f'count = "{POSITIVE}"', f"max_count = {threshold}"]
        lines += ['type = "llm"', 'fallback = "fm"']
    default_type = "llm" if threshold is None else "fm"
    lines += ["", "[[recommend.ranker.branches]]", f'type = "{default_type}"']
    lines.append('fallback = "fm"' if default_type == "llm" else 'fallback = "none"')
    return "\n".join(lines) + "\n"


def switch_from_snippet(snippet: str) -> flow_pb2.RankerConfig:
    """Load the snippet with the configuration file's reader and return the flow's ranker config.

    Raise ConfigError when the snippet is not a valid [recommend.ranker] table.
    """
    settings = ranker_settings_from_toml(snippet, "the suggested switch")
    return ranker_config(settings)


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string: both use the same escapes, \uXXXX included.
    return json.dumps(text)
