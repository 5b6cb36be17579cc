"""Time a MovieLens-sized import on SQLite and on PostgreSQL, and both PostgreSQL bulk paths.

The data is synthetic with MovieLens 100K's shape (943 users, 1,682 items, 100,000 feedback rows with
distinct user-item pairs) from a fixed seed, so runs compare like with like and no data set is
needed. PostgreSQL is the server at --postgres (default: the test database on 127.0.0.1); the
benchmark writes into a schema of its own and drops it afterwards.

    .venv/bin/python benchmarks/import_backends.py [--postgres URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from recmesh.entities import Feedback, Item, User
from recmesh.storage.base import Store
from recmesh.storage.postgres import PostgresStore
from recmesh.storage.sqlite import SQLiteStore

USERS, ITEMS, FEEDBACK = 943, 1682, 100_000
GENRES = ("Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "Western")


@dataclass(frozen=True)
class Data:
    users: list[User]
    items: list[Item]
    feedback: list[Feedback]


def generate(seed: int = 100) -> Data:
    rng = random.Random(seed)
    users = [User(str(u), {"age": str(rng.randint(15, 70))}) for u in range(1, USERS + 1)]
    items = [
        Item(
            str(i),
            tuple(rng.sample(GENRES, rng.randint(1, 3))),
            874_724_710 + rng.randint(0, 10_000_000),
            {"year": str(rng.randint(1930, 1998))},
            f"Movie {i}",
        )
        for i in range(1, ITEMS + 1)
    ]
    pairs = rng.sample(range(USERS * ITEMS), FEEDBACK)
    feedback = [
        Feedback(
            rng.choice(("like", "read")),
            str(pair // ITEMS + 1),
            str(pair % ITEMS + 1),
            874_724_710 + rng.randint(0, 20_000_000),
            float(rng.randint(1, 5)),
        )
        for pair in pairs
    ]
    return Data(users, items, feedback)


def import_all(store: Store, data: Data) -> float:
    """Write every user, item and feedback row; return the seconds taken."""
    started = time.perf_counter()
    store.insert_users(data.users)
    store.insert_items(data.items)
    store.insert_feedback(data.feedback)
    elapsed = time.perf_counter() - started
    assert store.count_feedback() == len(data.feedback)
    return elapsed


def measure(open_store: Callable[[int], Store], data: Data, repeat: int) -> float:
    """Return the median seconds of repeat imports, each into a fresh database."""
    times = []
    for run in range(repeat):
        store = open_store(run)
        try:
            times.append(import_all(store, data))
        finally:
            store.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=3, help="imports per backend; the median counts")
    args = parser.parse_args()

    data = generate()
    rows = len(data.users) + len(data.items) + len(data.feedback)
    prefix = f"recmesh_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.postgres, autocommit=True)
    schemas: list[str] = []

    def open_postgres(method: str) -> Callable[[int], Store]:
        def open_store(run: int) -> Store:
            schema = f"{prefix}_{method}_{run}"
            admin.execute(f'CREATE SCHEMA "{schema}"')
            schemas.append(schema)
            store = PostgresStore(f"{args.postgres}?options={quote(f'-csearch_path={schema}')}")
            store.bulk_method = method
            return store

        return open_store

    with tempfile.TemporaryDirectory() as folder:

        def open_sqlite(run: int) -> Store:
            return SQLiteStore(f"sqlite:///{Path(folder) / f'run{run}.db'}")

        try:
            results = {
                "sqlite": measure(open_sqlite, data, args.repeat),
                "postgres copy": measure(open_postgres("copy"), data, args.repeat),
                "postgres executemany": measure(open_postgres("executemany"), data, args.repeat),
            }
        finally:
            for schema in schemas:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.close()

    print(f"{USERS} users, {ITEMS} items, {FEEDBACK} feedback rows; median of {args.repeat} imports")
    reference = results["sqlite"]
    for name, seconds in results.items():
        print(
            f"{name:22s} {seconds:6.2f} s  {rows / seconds:9,.0f} rows/s  "
            f"{reference / seconds:5.2f}x the speed of sqlite"
        )
    print(f"copy vs executemany: {results['postgres executemany'] / results['postgres copy']:.2f}x")


if __name__ == "__main__":
    main()
