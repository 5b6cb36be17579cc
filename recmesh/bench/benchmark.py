"""One bench-llm run: split, select users, train FM on the training part, score, resume, summarise, write."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from recmesh.bench.evaluation_users import EvaluationSet, EvaluationUser, select_users
from recmesh.bench.flow_settings import BenchFlow
from recmesh.bench.fm_column import FmColumn
from recmesh.bench.groups import HistoryGroup
from recmesh.bench.plot import plot_gauc_by_group
from recmesh.bench.prompts import PromptRenderer
from recmesh.bench.ranker_column import RankerColumn
from recmesh.bench.report import BenchTable, build_table, table_to_json
from recmesh.bench.reranker_column import RerankerColumn
from recmesh.bench.reranker_stats import RerankerStats
from recmesh.bench.run_settings import RunSettings, check_or_write_settings
from recmesh.bench.runner import evaluate_users
from recmesh.bench.user_results import STATUS_OK, ResultsFile, UserResult
from recmesh.entities import Feedback
from recmesh.training.dataset import Corpus
from recmesh.training.fm_trainer import FMParams, fit_fm_on_feedback
from recmesh.training.split import split_by_time
from services.ranker.reranker_client import RerankerClient

log = logging.getLogger(__name__)

# The table's columns, in order; the first is the baseline every other column is compared with.
COLUMNS = (FmColumn.name, RerankerColumn.name)
USERS_FILE = "users.csv"
SETTINGS_FILE = "run.json"
TABLE_FILE = "table.json"
PLOT_FILE = "gauc_by_group.png"


class ProgressListener(Protocol):
    def started(self, pending: int) -> None:
        """Called once, with the number of users to evaluate, before the first one starts."""

    def user_done(self) -> None:
        """Called after each user finishes, failed or not."""


@dataclass(frozen=True)
class BenchOptions:
    groups: list[HistoryGroup]
    out: Path
    seed: int
    epochs: int
    concurrency: int
    # Seconds one user's rerank request may take, retries included.
    timeout_seconds: float
    # Evaluate a sample of this many eligible users; None evaluates all of them.
    users: int | None = None
    test_fraction: float = 0.2


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


def run_settings(options: BenchOptions, flow: BenchFlow, corpus: Corpus) -> RunSettings:
    return RunSettings(
        groups=",".join(group.label for group in options.groups),
        seed=options.seed,
        users=options.users,
        epochs=options.epochs,
        test_fraction=options.test_fraction,
        flow_fingerprint=flow.fingerprint(),
        columns=COLUMNS,
        feedback_count=len(corpus.feedback),
    )


async def run_bench(
    corpus: Corpus,
    flow: BenchFlow,
    auth_token: str,
    options: BenchOptions,
    progress: ProgressListener | None = None,
) -> BenchOutcome:
    """Run the benchmark and write users.csv, run.json, table.json and the plot to options.out.

    Raise SettingsMismatchError when options.out contains a run with other settings, ResultsFileError
    when its users.csv cannot be read, and TemplateCompileError when a template does not compile.
    """
    train, test = split_by_time(corpus.feedback, options.test_fraction)
    evaluation = select_users(train, test, flow.types, options.groups, options.seed, options.users)

    options.out.mkdir(parents=True, exist_ok=True)
    check_or_write_settings(options.out / SETTINGS_FILE, run_settings(options, flow, corpus))
    results_file = ResultsFile(options.out / USERS_FILE, COLUMNS)
    finished = {
        user_id: result for user_id, result in results_file.read().items() if result.status == STATUS_OK
    }
    pending = [user for user in evaluation.users if user.user_id not in finished]
    log.info("%d users finished by an earlier run, %d to evaluate", len(finished), len(pending))

    stats = RerankerStats()
    fm_seconds = 0.0
    new_results: dict[str, UserResult] = {}
    if pending:
        started = time.perf_counter()
        columns, client = _build_columns(corpus, train, flow, auth_token, options, stats)
        fm_seconds = time.perf_counter() - started
        new_results = await _evaluate(pending, columns, client, results_file, options, stats, progress)

    results = []
    for user in evaluation.users:
        result = new_results.get(user.user_id) or finished.get(user.user_id)
        if result is not None:
            results.append(result)
    results_file.rewrite(results)

    table = build_table(results, options.groups, COLUMNS, baseline=COLUMNS[0], seed=options.seed)
    _write_outputs(options.out, table, evaluation, stats, flow)
    return BenchOutcome(
        table=table,
        evaluation=evaluation,
        stats=stats,
        resumed=len(results) - len(new_results),
        evaluated=len(new_results),
        fm_seconds=fm_seconds,
    )


def _build_columns(
    corpus: Corpus,
    train: Sequence[Feedback],
    flow: BenchFlow,
    auth_token: str,
    options: BenchOptions,
    stats: RerankerStats,
) -> tuple[list[RankerColumn], RerankerClient]:
    """Train FM on the training feedback only and set up the reranker's client and templates."""
    users = {user.id: user for user in corpus.users}
    items = {item.id: item for item in corpus.items}
    # One thread: LightFM's parallel updates race, so two threads would make a resumed run's FM
    # scores differ from the first run's.
    params = FMParams(epochs=options.epochs, threads=1, seed=options.seed)
    model = fit_fm_on_feedback(train, corpus.users, corpus.items, flow.types, params)

    newest_training_time = max((row.timestamp for row in train), default=0)
    renderer = PromptRenderer.compile(
        flow.llm.query_template,
        flow.llm.document_template,
        flow.types,
        flow.context_size,
        items,
        users,
        now=newest_training_time,
    )
    client = RerankerClient(auth_token, max_connections=max(options.concurrency * 2, 10))
    reranker = RerankerColumn(flow.llm, client, renderer, options.timeout_seconds, stats)
    return [FmColumn(model, users, items), reranker], client


async def _evaluate(
    pending: list[EvaluationUser],
    columns: list[RankerColumn],
    client: RerankerClient,
    results_file: ResultsFile,
    options: BenchOptions,
    stats: RerankerStats,
    progress: ProgressListener | None,
) -> dict[str, UserResult]:
    def record(result: UserResult) -> None:
        results_file.append(result)
        if progress is not None:
            progress.user_done()

    if progress is not None:
        progress.started(len(pending))
    started = time.perf_counter()
    try:
        results = await evaluate_users(pending, columns, options.concurrency, record)
    finally:
        stats.wall_seconds = time.perf_counter() - started
        await client.close()
        results_file.close()
    return {result.user_id: result for result in results}


def _write_outputs(
    out: Path, table: BenchTable, evaluation: EvaluationSet, stats: RerankerStats, flow: BenchFlow
) -> None:
    document = {
        **table_to_json(table),
        "skipped": {reason.name.lower(): count for reason, count in sorted(evaluation.skipped.items())},
        "reranker": {"model": flow.llm.model, "flow": flow.origin, **stats.to_json()},
    }
    (out / TABLE_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    title = f"GAUC by group: {flow.llm.model} reranker vs FM"
    plot_gauc_by_group(table, out / PLOT_FILE, title)
