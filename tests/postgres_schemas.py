"""One PostgreSQL schema per test in the server on 127.0.0.1:5432, dropped at the end of the session.

RECMESH_TEST_POSTGRES_URL overrides the server. When it cannot be reached the tests that need it fail:
CI starts the server in .ci/run.
"""

from __future__ import annotations

import itertools
import os
import uuid
from urllib.parse import quote

import psycopg
import pytest

POSTGRES_URL = os.environ.get("RECMESH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


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
