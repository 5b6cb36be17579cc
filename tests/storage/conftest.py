"""Store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (RECMESH_TEST_POSTGRES_URL overrides it). Each test gets
its own schema in that database, named after this session, and every schema is dropped at the end.
When the server cannot be reached the PostgreSQL tests fail: CI starts the server in .ci/run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recmesh.storage.base import Store
from recmesh.storage.postgres import PostgresStore
from recmesh.storage.sqlite import SQLiteStore
from tests.postgres_helpers import PostgresSchemas

BACKENDS = ("sqlite", "postgres")


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
