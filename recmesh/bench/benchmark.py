"""One bench-llm run: the optional switch suggestion, the test split's scores, the table and the plot."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from recmesh.bench.evaluation_users import EvaluationSet
from recmesh.bench.flow_settings import BenchFlow
from recmesh.bench.plot import plot_gauc_by_group
from recmesh.bench.report import BenchTable, build_table, table_to_json
from recmesh.bench.reranker_stats import RerankerStats
from recmesh.bench.split_scoring import (
    COLUMNS,
    BenchOptions,
    ProgressListener,
    SplitJob,
    score_split,
)
from recmesh.bench.switch_column import SWITCH_COLUMN
from recmesh.bench.switch_suggestion import SwitchSuggestion, suggest_switch
from recmesh.flow.node_checks import branch_bounds
from recmesh.training.dataset import Corpus
from recmesh.training.split import split_by_time
from recmesh.v1 import flow_pb2

log = logging.getLogger(__name__)

__all__ = ["BenchOptions", "BenchOutcome", "ProgressListener", "run_bench"]

TABLE_FILE = "table.json"
PLOT_FILE = "gauc_by_group.png"


@dataclass(frozen=True)
class BenchOutcome:
    table: BenchTable
    evaluation: EvaluationSet
    stats: RerankerStats
    # Users whose results an earlier run in the same folder had finished.
    resumed: int
    # Users evaluated by this run, retried failures included.
    evaluated: int
    fm_seconds: float
    # Where the switch column's branches come from, such as "the flow's ranker node"; empty without one.
    switch_origin: str = ""
    switch: flow_pb2.RankerConfig | None = None
    suggestion: SwitchSuggestion | None = None


async def run_bench(
    corpus: Corpus,
    flow: BenchFlow,
    auth_token: str,
    options: BenchOptions,
    progress: ProgressListener | None = None,
) -> BenchOutcome:
    """Run the benchmark and write users.csv, run.json, table.json and the plot to options.out.

    With options.suggest_switch, first score the validation slice into options.out/validation and
    choose a switch threshold on it. Raise SettingsMismatchError when a folder contains a run with
    other settings, ResultsFileError when a users.csv cannot be read, TemplateCompileError when a
    template does not compile, and SwitchSuggestionError when no threshold can be chosen.
    """
    train, test = split_by_time(corpus.feedback, options.test_fraction)
    suggestion = None
    if options.suggest_switch:
        suggestion = await suggest_switch(corpus, train, flow, auth_token, options, progress)
    switch, switch_origin = _choose_switch(flow, suggestion)

    branches = list(switch.branches) if switch is not None else []
    job = SplitJob(out=options.out, groups=options.groups, stage="test users", branches=branches)
    scored = await score_split(corpus, train, test, flow, auth_token, options, job, progress)

    columns = [*COLUMNS, SWITCH_COLUMN] if switch is not None else list(COLUMNS)
    table = build_table(scored.results, options.groups, columns, baseline=COLUMNS[0], seed=options.seed)
    outcome = BenchOutcome(
        table=table,
        evaluation=scored.evaluation,
        stats=scored.stats,
        resumed=scored.resumed,
        evaluated=scored.evaluated,
        fm_seconds=scored.fm_seconds,
        switch_origin=switch_origin,
        switch=switch,
        suggestion=suggestion,
    )
    _write_outputs(options.out, outcome, flow)
    return outcome


def _choose_switch(
    flow: BenchFlow, suggestion: SwitchSuggestion | None
) -> tuple[flow_pb2.RankerConfig | None, str]:
    """Return the switch of the flow's ranker node when it is one, else the suggested one, else None."""
    if flow.switch is not None:
        return flow.switch, f"the ranker node of {flow.origin}"
    if suggestion is not None:
        return suggestion.ranker, "--suggest-switch"
    return None, ""


def describe_branches(switch: flow_pb2.RankerConfig) -> list[str]:
    """Return each branch as `condition: ranker`, such as `positive < 12: llm`."""
    return [
        f"{branch_bounds(branch).describe()}: "
        f"{flow_pb2.RankerType.Name(branch.ranker.type).removeprefix('RANKER_TYPE_').lower()}"
        for branch in switch.branches
    ]


def _write_outputs(out: Path, outcome: BenchOutcome, flow: BenchFlow) -> None:
    evaluation = outcome.evaluation
    document = {
        **table_to_json(outcome.table),
        "skipped": {reason.name.lower(): count for reason, count in sorted(evaluation.skipped.items())},
        "reranker": {"model": flow.llm.model, "flow": flow.origin, **outcome.stats.to_json()},
    }
    if outcome.switch is not None:
        document["switch"] = {"origin": outcome.switch_origin, "branches": describe_branches(outcome.switch)}
    if outcome.suggestion is not None:
        document["suggested_switch"] = _suggestion_to_json(outcome.suggestion)
    (out / TABLE_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    title = f"GAUC by group: {flow.llm.model} reranker vs FM"
    if outcome.switch is not None:
        title += " and the switch"
    plot_gauc_by_group(outcome.table, out / PLOT_FILE, title)


def _suggestion_to_json(suggestion: SwitchSuggestion) -> dict[str, object]:
    search = suggestion.search
    validation = suggestion.validation
    return {
        # null means no upper bound: every user goes to the reranker.
        "threshold": search.best.threshold,
        "validation_gauc": search.best.gauc,
        "validation_gauc_always_fm": search.always_fm.gauc,
        "validation_gauc_always_reranker": search.always_reranker.gauc,
        "validation_users": search.users,
        "validation_users_to_reranker": search.best.reranker_users,
        "candidates": [{"threshold": s.threshold, "gauc": s.gauc} for s in search.scores],
        "snippet": suggestion.snippet,
        "reranker": validation.stats.to_json(),
    }
