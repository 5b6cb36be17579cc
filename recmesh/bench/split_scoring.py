"""Scoring one train/test split: select users, train FM on the training part, score, resume, write users.csv.

bench-llm scores two splits: the test split of the whole feedback, and, for --suggest-switch, a
validation split of the training part. Each has its own folder with users.csv and run.json.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from recmesh.bench.evaluation_users import EvaluationSet, EvaluationUser, select_users
from recmesh.bench.flow_settings import BenchFlow
from recmesh.bench.fm_column import FmColumn
from recmesh.bench.groups import HistoryGroup
from recmesh.bench.prompts import PromptRenderer
from recmesh.bench.ranker_column import RankerColumn
from recmesh.bench.reranker_column import RerankerColumn
from recmesh.bench.reranker_stats import RerankerStats
from recmesh.bench.run_settings import RunSettings, check_or_write_settings
from recmesh.bench.runner import evaluate_users
from recmesh.bench.switch_column import SWITCH_COLUMN, training_counts, with_switch
from recmesh.bench.user_results import STATUS_OK, ResultsFile, UserResult
from recmesh.entities import Feedback
from recmesh.training.dataset import Corpus
from recmesh.training.fm_trainer import FMParams, fit_fm_on_feedback
from recmesh.v1 import flow_pb2
from services.ranker.reranker_client import RerankerClient
from services.ranker.switch_router import HistoryCounts

log = logging.getLogger(__name__)

# The scored columns, in order; the first is the baseline every other column is compared with.
COLUMNS = (FmColumn.name, RerankerColumn.name)
# Columns computed from the scored ones, never from a rerank call of their own.
DERIVED_COLUMNS = (SWITCH_COLUMN,)
USERS_FILE = "users.csv"
SETTINGS_FILE = "run.json"


class ProgressListener(Protocol):
    def started(self, pending: int, stage: str) -> None:
        """Called once per split, with the number of users to evaluate and what they are, before the first."""

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
    # Choose a switch threshold on a validation slice of the training part first.
    suggest_switch: bool = False


@dataclass(frozen=True)
class ScoredSplit:
    evaluation: EvaluationSet
    # One result per evaluated user, in the order of evaluation.users; users not finished yet are left out.
    results: list[UserResult]
    # History counts of each evaluated user in the split's training part.
    counts: dict[str, HistoryCounts]
    stats: RerankerStats
    # Users whose results an earlier run in the same folder had finished.
    resumed: int
    # Users evaluated by this run, retried failures included.
    evaluated: int
    fm_seconds: float


@dataclass(frozen=True)
class SplitJob:
    """The settings of one split besides its feedback: its output folder, groups and progress label."""

    out: Path
    groups: list[HistoryGroup]
    stage: str
    # The switch whose column is derived; empty for no switch column.
    branches: Sequence[flow_pb2.SwitchBranch] = ()


def run_settings(
    options: BenchOptions, groups: Sequence[HistoryGroup], flow: BenchFlow, corpus: Corpus
) -> RunSettings:
    return RunSettings(
        groups=",".join(group.label for group in groups),
        seed=options.seed,
        users=options.users,
        epochs=options.epochs,
        test_fraction=options.test_fraction,
        flow_fingerprint=flow.fingerprint(),
        columns=COLUMNS,
        feedback_count=len(corpus.feedback),
    )


async def score_split(
    corpus: Corpus,
    train: Sequence[Feedback],
    test: Sequence[Feedback],
    flow: BenchFlow,
    auth_token: str,
    options: BenchOptions,
    job: SplitJob,
    progress: ProgressListener | None = None,
) -> ScoredSplit:
    """Score the users of one split with FM and the reranker, resuming from job.out's users.csv.

    Raise SettingsMismatchError when job.out contains a run with other settings, ResultsFileError when
    its users.csv cannot be read, and TemplateCompileError when a template does not compile.
    """
    evaluation = select_users(train, test, flow.types, job.groups, options.seed, options.users)
    job.out.mkdir(parents=True, exist_ok=True)
    check_or_write_settings(job.out / SETTINGS_FILE, run_settings(options, job.groups, flow, corpus))

    newest_training_time = max((row.timestamp for row in train), default=0)
    counts = {
        user.user_id: training_counts(user, flow.types, newest_training_time) for user in evaluation.users
    }

    def derive(result: UserResult) -> UserResult:
        if not job.branches or result.user_id not in counts:
            return result
        return with_switch(result, job.branches, counts[result.user_id])

    results_file = ResultsFile(job.out / USERS_FILE, COLUMNS, DERIVED_COLUMNS)
    stored = results_file.read()
    # Rewritten before appending, so a file from before a derived column existed gets the new header.
    if stored:
        results_file.rewrite(derive(result) for result in stored.values())
    finished = {user_id: result for user_id, result in stored.items() if result.status == STATUS_OK}
    pending = [user for user in evaluation.users if user.user_id not in finished]
    log.info(
        "%s: %d users finished by an earlier run, %d to evaluate", job.stage, len(finished), len(pending)
    )

    stats = RerankerStats()
    fm_seconds = 0.0
    new_results: dict[str, UserResult] = {}
    if pending:
        started = time.perf_counter()
        columns, client = _build_columns(corpus, train, flow, auth_token, options, stats)
        fm_seconds = time.perf_counter() - started
        new_results = await _evaluate(
            pending, columns, client, results_file, options, stats, job, progress, derive
        )

    results = []
    for user in evaluation.users:
        result = new_results.get(user.user_id) or finished.get(user.user_id)
        if result is not None:
            results.append(derive(result))
    results_file.rewrite(results)
    return ScoredSplit(
        evaluation=evaluation,
        results=results,
        counts=counts,
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
    job: SplitJob,
    progress: ProgressListener | None,
    derive: Callable[[UserResult], UserResult],
) -> dict[str, UserResult]:
    def record(result: UserResult) -> None:
        results_file.append(derive(result))
        if progress is not None:
            progress.user_done()

    if progress is not None:
        progress.started(len(pending), job.stage)
    started = time.perf_counter()
    try:
        results = await evaluate_users(pending, columns, options.concurrency, record)
    finally:
        stats.wall_seconds = time.perf_counter() - started
        await client.close()
        results_file.close()
    return {result.user_id: result for result in results}
