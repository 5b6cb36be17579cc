"""`recmesh import movielens-100k|csv|jsonl`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from recmesh.config import load_config
from recmesh.importing.dataset import Dataset, import_dataset
from recmesh.importing.files import read_files
from recmesh.importing.movielens import DatasetError, fetch_movielens, read_movielens
from recmesh.storage import StoreError, open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="import users, items and feedback into the store")
    kinds = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")

    movielens = kinds.add_parser(
        "movielens-100k", help="MovieLens 100K, fetched from the recbole 1.2.1 wheel"
    )
    movielens.add_argument(
        "--data-dir", default="data", help="folder where the extracted files are kept (default: data)"
    )
    movielens.set_defaults(handler=run_movielens)

    for file_format in ("csv", "jsonl"):
        files = kinds.add_parser(
            file_format, help=f"users, items and feedback from {file_format.upper()} files"
        )
        files.add_argument("--users", type=Path, help=f"users file ({file_format})")
        files.add_argument("--items", type=Path, help=f"items file ({file_format})")
        files.add_argument("--feedback", type=Path, help=f"feedback file ({file_format})")
        files.set_defaults(handler=run_files, file_format=file_format)


def _import(args: argparse.Namespace, dataset: Dataset) -> int:
    config = load_config(args.config)
    started = time.perf_counter()
    try:
        store = open_store(config.data_store)
        report = import_dataset(store, dataset, show_progress=sys.stderr.isatty())
        store.close()
    except StoreError as exc:
        print(f"recmesh import: {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {report.users} users, {report.items} items, {report.feedback} feedback "
        f"({report.new_feedback} new) into {config.data_store} in {time.perf_counter() - started:.1f}s"
    )
    return 0


def run_movielens(args: argparse.Namespace) -> int:
    try:
        dataset = read_movielens(fetch_movielens(Path(args.data_dir)))
    except DatasetError as exc:
        print(f"recmesh import: {exc}", file=sys.stderr)
        return 1
    return _import(args, dataset)


def run_files(args: argparse.Namespace) -> int:
    if not (args.users or args.items or args.feedback):
        print("recmesh import: give at least one of --users, --items, --feedback", file=sys.stderr)
        return 2
    try:
        dataset = read_files(args.file_format, args.users, args.items, args.feedback)
    except DatasetError as exc:
        print(f"recmesh import: {exc}", file=sys.stderr)
        return 1
    return _import(args, dataset)
