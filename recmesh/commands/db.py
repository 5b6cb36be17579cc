"""`recmesh db migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse
import sys

from recmesh.config import load_config
from recmesh.storage import StoreError, open_store


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="manage the database schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="apply pending schema migrations to the configured store and list them"
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="list the pending migrations without applying them"
    )
    migrate.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.data_store.startswith(("postgresql://", "postgres://")):
        # SQLite stores create every table when they are opened and have no migration steps.
        try:
            open_store(config.data_store).close()
        except StoreError as exc:
            print(f"recmesh db migrate: {exc}", file=sys.stderr)
            return 1
        print(f"SQLite schema is up to date in {config.data_store}")
        return 0

    from recmesh.storage.postgres import PostgresStore

    store = PostgresStore(config.data_store, migrate=False)
    try:
        if args.dry_run:
            steps = store.pending_migrations()
            verb = "pending"
        else:
            steps = store.migrate()
            verb = "applied"
    except StoreError as exc:
        print(f"recmesh db migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()

    for step in steps:
        print(f"{verb} migration {step.version}: {step.name}")
    if not steps:
        print(f"schema of {store.where} is up to date")
    return 0
