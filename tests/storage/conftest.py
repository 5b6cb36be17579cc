"""Store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (RECMESH_TEST_POSTGRES_URL overrides it). Each test gets
its own schema in that database, named after this session, and every schema is dropped at the end.
When the server cannot be reached the PostgreSQL tests fail: CI starts the server in .ci/run.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from recmesh.storage.base import Store
from recmesh.storage.postgres import PostgresStore
from recmesh.storage.sqlite import SQLiteStore

POSTGRES_URL = os.environ.get("RECMESH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

BACKENDS = ("sqlite", "postgres")


class PostgresSchemas:
    """Creates one schema per test in the test database and drops them all at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"recmesh_test_{uuid.uuid4().hex[:12]}"
        self.counter = itertools.count(1)
        self.created: list[str] = []
        try:
            self.admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL at {url} is not reachable ({exc}). Start it with "
                "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
                "or set RECMESH_TEST_POSTGRES_URL; .ci/run does this.",
                pytrace=False,
            )

    def new_url(self) -> str:
        schema = f"{self.prefix}_{next(self.counter)}"
        self.admin.execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}options={quote(f'-csearch_path={schema}')}"

    def drop_all(self) -> None:
        for schema in self.created:
            self.admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.admin.close()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    schemas = PostgresSchemas(POSTGRES_URL)
    yield schemas
    schemas.drop_all()


@pytest.fixture(params=BACKENDS)
def open_replica(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Yield a function that opens another store on this test's database, as a replica would."""
    opened: list[Store] = []
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'recmesh.db'}"

        def open_store() -> Store:
            opened.append(SQLiteStore(url))
            return opened[-1]

    else:
        url = request.getfixturevalue("postgres_schemas").new_url()

        def open_store() -> Store:
            opened.append(PostgresStore(url))
            return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(open_replica: Callable[[], Store]) -> Store:
    return open_replica()


@pytest.fixture
def postgres_url(postgres_schemas: PostgresSchemas) -> str:
    return postgres_schemas.new_url()
