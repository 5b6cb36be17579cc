"""`recmesh train`: fit the candidate models and the FM ranker on the store's data and save them."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from recmesh.config import load_config
from recmesh.progress import ProgressBar
from recmesh.storage import StoreError, open_store
from recmesh.training.dataset import read_corpus
from recmesh.training.trainer import Evaluation, TrainingError, TrainingOptions, save_models, train_models
from recmesh.user_context import FeedbackTypes


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train the recommenders and the FM ranker from the store's data"
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs of both the MF and the FM model (default: 15 and 20)"
    )
    parser.add_argument(
        "--no-eval", action="store_true", help="skip the offline evaluation on the per-user time split"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    options = TrainingOptions(evaluate=not args.no_eval)
    if args.epochs is not None:
        if args.epochs < 1:
            print(f"recmesh train: --epochs must be at least 1, got {args.epochs}", file=sys.stderr)
            return 2
        options = replace(
            options, mf=replace(options.mf, epochs=args.epochs), fm=replace(options.fm, epochs=args.epochs)
        )
    types = FeedbackTypes.from_settings(config.recommend.data_source)

    started = time.perf_counter()
    try:
        store = open_store(config.data_store)
        corpus = read_corpus(store)
        progress = ProgressBar("train", options.steps())
        result = train_models(corpus, types, options, progress.advance)
        progress.close()
        candidates, ranker = save_models(store, result)
        store.close()
    except (StoreError, TrainingError) as exc:
        print(f"recmesh train: {exc}", file=sys.stderr)
        return 1

    print(
        f"trained on {len(corpus.feedback)} feedback of {len(corpus.users)} users and {len(corpus.items)} items "
        f"in {time.perf_counter() - started:.1f}s; saved {candidates.kind} version {candidates.version} "
        f"and {ranker.kind} version {ranker.version}"
    )
    if result.evaluation is not None:
        print(format_evaluation(result.evaluation, options))
    return 0


def format_evaluation(evaluation: Evaluation, options: TrainingOptions) -> str:
    """Format the collaborative and popular recommenders' quality as a table."""
    k = options.cutoff
    held_out = round(options.test_fraction * 100)
    lines = [
        f"offline quality, newest {held_out}% of each user's feedback held out, "
        f"{evaluation.collaborative.users} users with a held-out positive:",
        f"{'recommender':<15}{f'precision@{k}':>14}{f'recall@{k}':>12}{f'NDCG@{k}':>10}",
    ]
    for name, quality in (("collaborative", evaluation.collaborative), ("popular", evaluation.popular)):
        lines.append(f"{name:<15}{quality.precision:>14.4f}{quality.recall:>12.4f}{quality.ndcg:>10.4f}")
    return "\n".join(lines)
