"""`recmesh bench-llm`: Group AUC of the LLM reranker, the FM ranker and a switch between them, by user group."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from recmesh.bench.benchmark import BenchOptions, BenchOutcome, describe_branches, run_bench
from recmesh.bench.evaluation_users import SkipReason
from recmesh.bench.flow_settings import BenchFlow, BenchFlowError, bench_flow, choose_flow
from recmesh.bench.groups import DEFAULT_GROUPS, GroupsError, parse_groups
from recmesh.bench.report import format_table
from recmesh.bench.run_settings import SettingsMismatchError
from recmesh.bench.switch_suggestion import VALIDATION_FOLDER, SwitchSuggestion, SwitchSuggestionError
from recmesh.bench.switch_threshold import ThresholdScore, describe_threshold
from recmesh.bench.user_results import ResultsFileError
from recmesh.config import load_config
from recmesh.flow.text import FlowFileError
from recmesh.flow.validate import validate_flow
from recmesh.progress import ProgressBar
from recmesh.storage import StoreError, open_store
from recmesh.templates import TemplateCompileError
from recmesh.training.dataset import Corpus, read_corpus
from recmesh.user_context import FeedbackTypes

DEFAULT_OUT = "bench-out/llm"
# Long enough for a 100-document call to a CPU-bound local model that also serves other callers.
DEFAULT_TIMEOUT_SECONDS = 60.0
# Interval of the progress lines written when stderr is not a terminal.
PROGRESS_LINE_SECONDS = 15.0


class UsageError(Exception):
    """An invalid option or input; the message is the line printed to stderr, with exit status 2."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench-llm",
        help="compare the LLM reranker, the FM ranker and a switch between them by Group AUC on a per-user time split",
    )
    # Accepted after the subcommand too, as in `recmesh bench-llm --config config.toml`.
    parser.add_argument("--config", default=argparse.SUPPRESS, help="TOML configuration file")
    parser.add_argument(
        "--groups",
        default=DEFAULT_GROUPS,
        help=f"user groups by training feedback count, ascending; LOW- is open-ended (default: {DEFAULT_GROUPS})",
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"output folder; a rerun resumes from it (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--users", type=int, help="evaluate a random sample of this many eligible users (default: all)"
    )
    parser.add_argument("--flow", help="evaluate this flow file (TOML or binary) instead of the live flow")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="rerank requests in flight at once (default: 4)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of the shuffles, the sample, FM and the bootstrap (default: 42)",
    )
    parser.add_argument("--epochs", type=int, default=20, help="FM training epochs (default: 20)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds one user's rerank request may take, retries included (default: {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--suggest-switch",
        action="store_true",
        help="first choose the switch threshold (fewer positive training feedbacks: reranker, else FM) with the "
        "best GAUC on a validation slice of the training part, print it with its [recommend.ranker] snippet, "
        "and use it for the switch column unless the flow's ranker is a switch",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
    except UsageError as exc:
        print(f"recmesh bench-llm: {exc}", file=sys.stderr)
        return 2
    config = load_config(args.config)

    started = time.perf_counter()
    try:
        store = open_store(config.data_store)
        try:
            graph, origin = choose_flow(store, config, args.flow)
            corpus = read_corpus(store)
        finally:
            store.close()
        # The live flow passed validation when it was saved, and the config's flow is built by recmesh.
        problems = validate_flow(graph) if args.flow is not None else []
        if problems:
            raise BenchFlowError(f"{origin} is invalid: " + "; ".join(str(p) for p in problems))
        flow = bench_flow(
            graph,
            origin,
            config.recommend.ranker.reranker_api,
            FeedbackTypes.from_settings(config.recommend.data_source),
        )
    except (FlowFileError, BenchFlowError) as exc:
        print(f"recmesh bench-llm: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"recmesh bench-llm: {exc}", file=sys.stderr)
        return 1

    progress = _Progress()
    try:
        outcome = asyncio.run(
            run_bench(corpus, flow, config.recommend.ranker.reranker_api.auth_token, options, progress)
        )
    except (SettingsMismatchError, ResultsFileError, TemplateCompileError) as exc:
        print(f"recmesh bench-llm: {exc}", file=sys.stderr)
        return 2
    except SwitchSuggestionError as exc:
        print(f"recmesh bench-llm: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.close()

    print(_report(outcome, flow, corpus, options, time.perf_counter() - started))
    return 0


def _options(args: argparse.Namespace) -> BenchOptions:
    try:
        groups = parse_groups(args.groups)
    except GroupsError as exc:
        raise UsageError(str(exc)) from exc
    for flag, value, minimum in (
        ("--users", args.users, 1),
        ("--concurrency", args.concurrency, 1),
        ("--epochs", args.epochs, 1),
    ):
        if value is not None and value < minimum:
            raise UsageError(f"{flag} must be at least {minimum}, got {value}")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    return BenchOptions(
        groups=groups,
        out=Path(args.out),
        seed=args.seed,
        epochs=args.epochs,
        concurrency=args.concurrency,
        timeout_seconds=args.timeout,
        users=args.users,
        suggest_switch=args.suggest_switch,
    )


class _Progress:
    """Users done, rate and time left on stderr: a bar on a terminal, a line every few seconds elsewhere."""

    def __init__(self) -> None:
        self._bar: ProgressBar | None = None

    def started(self, pending: int, stage: str) -> None:
        self.close()
        self._bar = ProgressBar(f"bench-llm {stage}", pending, line_every_seconds=PROGRESS_LINE_SECONDS)

    def user_done(self) -> None:
        if self._bar is not None:
            self._bar.advance()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _report(
    outcome: BenchOutcome, flow: BenchFlow, corpus: Corpus, options: BenchOptions, seconds: float
) -> str:
    evaluation = outcome.evaluation
    lines = _suggestion_lines(outcome.suggestion, options) if outcome.suggestion is not None else []
    skipped = ", ".join(
        f"{reason.value} {evaluation.skipped[reason]:,}"
        for reason in SkipReason
        if evaluation.skipped[reason]
    )
    failed = outcome.table.overall.columns["reranker"].failed
    lines += [
        f"flow: {flow.origin}; reranker model {flow.llm.model}; "
        f"{len(corpus.feedback):,} feedbacks, newest {options.test_fraction:.0%} of each user's held out",
        f"users evaluated: {len(evaluation.users):,}"
        + (f" ({outcome.resumed:,} from an earlier run in {options.out})" if outcome.resumed else ""),
        f"users skipped: {sum(evaluation.skipped.values()):,}" + (f" ({skipped})" if skipped else ""),
        "",
        format_table(outcome.table),
        "",
    ]
    if outcome.switch is not None:
        lines.append(
            f"switch from {outcome.switch_origin}: {'; '.join(describe_branches(outcome.switch))}; "
            "its AUC per user is that of the ranker its branch picks by the training counts"
        )
    else:
        lines.append(
            "no switch column: the flow's ranker is not a switch; pass --suggest-switch to choose one"
        )
    if failed:
        lines.append(
            f"the reranker failed on {failed:,} users: FM's column counts them, the reranker's does not; "
            "rerun the same command to retry them"
        )
    lines += [
        outcome.stats.describe() + (" (this run only)" if outcome.resumed else ""),
        f"FM training on the training split: {outcome.fm_seconds:.1f} s; total {seconds:.1f} s",
        f"wrote {options.out}/users.csv, table.json and gauc_by_group.png",
    ]
    return "\n".join(lines)


def _suggestion_lines(suggestion: SwitchSuggestion, options: BenchOptions) -> list[str]:
    search = suggestion.search
    validation = suggestion.validation
    failed = len(validation.evaluation.users) - search.users

    def figure(score: ThresholdScore) -> str:
        return f"validation GAUC {score.gauc:.4f} ({score.reranker_users:,} of {search.users:,} users to the reranker)"

    lines = [
        f"suggested switch, chosen on the newest {options.test_fraction:.0%} of each user's training feedback "
        f"({search.users:,} validation users"
        + (f", {failed:,} left out because the reranker failed on them" if failed else "")
        + "):",
        f"  threshold: {describe_threshold(search.best.threshold)}: {figure(search.best)}",
        f"  every user to FM: {figure(search.always_fm)}",
        f"  every user to the reranker: {figure(search.always_reranker)}",
        "  "
        + validation.stats.describe().replace("\n", "\n  ")
        + (" (this run only)" if validation.resumed else ""),
        f"  wrote {options.out / VALIDATION_FOLDER}/users.csv",
        "to set it, merge this into the configuration file: its keys replace those of [recommend.ranker], and the "
        "branch tables go after that table:",
        "",
        suggestion.snippet,
    ]
    return lines
