"""PostgreSQL-only behaviour: migrations, both bulk paths, and recovery after an outage."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import psycopg
import pytest

from recmesh.commands import db as db_command
from recmesh.entities import Feedback
from recmesh.storage.base import StoreError, StoreUnavailable
from recmesh.storage.postgres import RECONNECT_SECONDS, PostgresStore
from recmesh.storage.postgres_schema import MIGRATIONS
from tests.postgres_helpers import TcpProxy, via_proxy

T = TypeVar("T")


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


def call_until_reconnected(call: Callable[[], T]) -> T:
    """Repeat call while it raises StoreUnavailable, for at most RECONNECT_SECONDS plus a margin,
    because the pool reconnects with backoff rather than at once."""
    deadline = time.monotonic() + RECONNECT_SECONDS + 10
    while True:
        try:
            return call()
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_store_recovers_after_outage(postgres_url: str, proxy: TcpProxy) -> None:
    store = PostgresStore(via_proxy(postgres_url, proxy), timeout=1.0)
    try:
        store.insert_feedback([Feedback("like", "u1", "i1", 1)])

        proxy.stop()
        with pytest.raises(StoreUnavailable):
            store.count_feedback()
        with pytest.raises(StoreUnavailable):
            store.insert_feedback([Feedback("like", "u1", "i2", 2)])

        proxy.start()
        call_until_reconnected(lambda: store.insert_feedback([Feedback("like", "u1", "i3", 3)]))
        assert store.count_feedback() == 2
    finally:
        store.close()


def test_store_opened_while_server_down_migrates_later(postgres_url: str, proxy: TcpProxy) -> None:
    proxy.stop()
    store = PostgresStore(via_proxy(postgres_url, proxy), timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable):
            store.count_feedback()

        proxy.start()
        assert call_until_reconnected(store.count_feedback) == 0
        assert store.pending_migrations() == []
    finally:
        store.close()


def test_migrate_records_every_step_once(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, migrate=False)
    try:
        assert [m.version for m in store.pending_migrations()] == [m.version for m in MIGRATIONS]

        applied = store.migrate()
        again = store.migrate()

        assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
        assert again == []
        assert store.pending_migrations() == []
    finally:
        store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(m.version, m.name) for m in MIGRATIONS]


def test_unmigrated_store_names_the_fix(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, migrate=False)
    try:
        with pytest.raises(StoreError, match="recmesh db migrate"):
            store.count_feedback()
    finally:
        store.close()


def test_concurrent_migrations_apply_each_step_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url, migrate=False) for _ in range(4)]
    results: list[list[int]] = []
    start = threading.Barrier(len(stores))

    def migrate(store: PostgresStore) -> None:
        start.wait()
        results.append([m.version for m in store.migrate()])

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    assert sorted(results) == [[], [], [], [m.version for m in MIGRATIONS]]


def test_db_migrate_command_lists_applied_steps(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECMESH_DATA_STORE", postgres_url)
    args = argparse.Namespace(config=None, dry_run=False)

    assert db_command.run_migrate(argparse.Namespace(config=None, dry_run=True)) == 0
    pending = capsys.readouterr().out
    assert db_command.run_migrate(args) == 0
    first = capsys.readouterr().out
    assert db_command.run_migrate(args) == 0
    second = capsys.readouterr().out

    assert f"pending migration 1: {MIGRATIONS[0].name}" in pending
    for migration in MIGRATIONS:
        assert f"applied migration {migration.version}: {migration.name}" in first
    assert "up to date" in second


def test_executemany_and_copy_write_the_same_rows(postgres_url: str) -> None:
    rows = [Feedback("like", f"u{n % 7}", f"i{n}", n, n / 2) for n in range(2500)]
    rows += [Feedback("like", "u0", "i0", 10_000, 9.0)]
    results = {}
    for method in ("copy", "executemany"):
        store = PostgresStore(postgres_url)
        try:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute("TRUNCATE feedback")
            store.bulk_method = method
            store.insert_feedback(rows)
            results[method] = list(store.iter_feedback())
        finally:
            store.close()

    assert len(results["copy"]) == 2500
    assert results["copy"] == results["executemany"]
    assert Feedback("like", "u0", "i0", 10_000, 9.0) in results["copy"]


def test_errors_and_repr_leave_out_the_password() -> None:
    store = PostgresStore("postgresql://postgres:s3cret-pw@127.0.0.1:1/test", timeout=0.3, migrate=False)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            store.count_feedback()
    finally:
        store.close()

    assert "s3cret-pw" not in str(raised.value)
    assert "s3cret-pw" not in repr(store)
