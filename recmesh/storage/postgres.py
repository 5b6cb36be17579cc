"""PostgreSQL backend: the shared store when services run as several replicas on a cluster.

Behaves like the SQLite store: the same orderings, upserts on the same natural keys, a live flow
pointer and artifact versions per kind. Connections come from a psycopg_pool pool, which keeps
reconnecting in the background while the server is down; calls made meanwhile raise
StoreUnavailable, and calls succeed again without reopening the store within about
RECONNECT_SECONDS of the server coming back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from recmesh.entities import Artifact, Feedback, Item, SavedFlow, User
from recmesh.storage.base import Store, StoreError, StoreUnavailable
from recmesh.storage.postgres_schema import Migration, apply_migrations, pending_migrations

log = logging.getLogger(__name__)

# Seconds the pool keeps retrying one lost connection, with delays of 1, 2, 4 and 8 s, before it
# gives up; the next call then starts a fresh attempt at once. This bounds how long the store keeps
# raising StoreUnavailable after the server is back to about 10 s (psycopg_pool 3.3 backoff).
RECONNECT_SECONDS = 10.0

# Bulk writes of at least this many rows go through COPY into a temporary table and one
# INSERT ... ON CONFLICT; smaller ones use executemany, which needs no temporary table.
# On 100,000 feedback rows COPY took 1.23 s and executemany 1.70 s (benchmarks/import_backends.py,
# PostgreSQL 15 on the same 2-core machine as the client).
COPY_MIN_ROWS = 1000

BULK_METHODS = ("copy", "executemany")

ITEM_COLUMNS = ("id", "categories", "timestamp", "labels", "comment", "hidden")
FEEDBACK_COLUMNS = ("type", "user_id", "item_id", "timestamp", "value")
SELECT_ITEM = "SELECT id, categories, timestamp, labels, comment, hidden FROM items"
SELECT_FEEDBACK = "SELECT type, user_id, item_id, timestamp, value FROM feedback"


def _item_from_row(row: tuple[Any, ...]) -> Item:
    return Item(
        id=row[0],
        categories=tuple(row[1]),
        timestamp=row[2],
        labels=row[3],
        comment=row[4],
        hidden=row[5],
    )


def describe_url(url: str) -> str:
    """Return host, port and database of a connection URL, leaving out the user and password."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unparseable URL)"
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"PostgreSQL at {host}:{port}/{params.get('dbname', '')}"


class PostgresStore(Store):
    """Thread-safe; one pool of connections shared by every thread.

    migrate=True applies pending schema migrations on the first call that reaches the server;
    with migrate=False the schema must be created beforehand by `recmesh db migrate`.
    timeout is how many seconds a call waits for a connection before raising StoreUnavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        migrate: bool = True,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 3.0,
    ) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"invalid PostgreSQL URL {describe_url(url)}: expected postgresql://HOST/DB")
        self.url = url
        self.where = describe_url(url)
        self.bulk_method = "copy"
        self._migrate = migrate
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": max(2, round(timeout))},
            check=ConnectionPool.check_connection,
            reconnect_timeout=RECONNECT_SECONDS,
            name="recmesh-store",
        )
        self._pool.open(wait=False)
        if migrate:
            try:
                self._ensure_schema()
            except StoreUnavailable as exc:
                log.warning("cannot migrate the schema yet, will retry on the next call: %s", exc)

    def __repr__(self) -> str:
        return f"PostgresStore({self.where})"

    # Connections and schema

    @contextmanager
    def _raw_connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreUnavailable(f"{self.where} is not reachable: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"{self.where} failed: {exc}") from exc
        except psycopg.errors.UndefinedTable as exc:
            raise StoreError(
                f"{self.where} has no recmesh schema ({exc}): run `recmesh db migrate` first"
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(f"{self.where} rejected a statement: {exc}") from exc

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        self._ensure_schema()
        with self._raw_connection() as conn:
            yield conn

    def _ensure_schema(self) -> None:
        if not self._migrate or self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.migrate()

    def migrate(self) -> list[Migration]:
        """Apply pending schema migrations; return the ones applied (empty when up to date)."""
        with self._raw_connection() as conn:
            applied = apply_migrations(conn)
        self._schema_ready = True
        return applied

    def pending_migrations(self) -> list[Migration]:
        with self._raw_connection() as conn:
            return pending_migrations(conn)

    def _fetch(self, query: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(query, args).fetchall()

    # Bulk upsert

    def _upsert(
        self, table: str, columns: Sequence[str], key: Sequence[str], rows: list[tuple[object, ...]]
    ) -> None:
        if not rows:
            return
        # One INSERT ... ON CONFLICT may not touch a row twice, so keep the last row per key, as
        # a sequence of single-row upserts would.
        positions = [columns.index(k) for k in key]
        unique = list({tuple(row[p] for p in positions): row for row in rows}.values())
        updates = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in key
        )
        conflict = sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(
            sql.SQL(", ").join(map(sql.Identifier, key)), updates
        )
        column_list = sql.SQL(", ").join(map(sql.Identifier, columns))

        with self._connection() as conn, conn.transaction():
            if self.bulk_method == "copy" and len(unique) >= COPY_MIN_ROWS:
                self._copy_upsert(conn, table, column_list, conflict, unique)
            else:
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) {}").format(
                    sql.Identifier(table),
                    column_list,
                    sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                    conflict,
                )
                with conn.cursor() as cursor:
                    cursor.executemany(insert, unique)

    @staticmethod
    def _copy_upsert(
        conn: psycopg.Connection[tuple[Any, ...]],
        table: str,
        column_list: sql.Composable,
        conflict: sql.Composable,
        rows: list[tuple[object, ...]],
    ) -> None:
        staging = sql.Identifier(f"recmesh_import_{table}")
        conn.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP").format(
                staging, sql.Identifier(table)
            )
        )
        with conn.cursor() as cursor:
            with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, column_list)) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} {}").format(
                    sql.Identifier(table), column_list, column_list, staging, conflict
                )
            )

    # Users and items

    def insert_users(self, users: Iterable[User]) -> int:
        rows: list[tuple[object, ...]] = [(u.id, Jsonb(u.labels), u.comment) for u in users]
        self._upsert("users", ("id", "labels", "comment"), ("id",), rows)
        return len(rows)

    def insert_items(self, items: Iterable[Item]) -> int:
        rows: list[tuple[object, ...]] = [
            (i.id, list(i.categories), i.timestamp, Jsonb(i.labels), i.comment, i.hidden) for i in items
        ]
        self._upsert("items", ITEM_COLUMNS, ("id",), rows)
        return len(rows)

    def get_user(self, user_id: str) -> User | None:
        rows = self._fetch("SELECT id, labels, comment FROM users WHERE id = %s", (user_id,))
        if not rows:
            return None
        row = rows[0]
        return User(id=row[0], labels=row[1], comment=row[2])

    def get_items(self, item_ids: Sequence[str]) -> dict[str, Item]:
        if not item_ids:
            return {}
        rows = self._fetch(f"{SELECT_ITEM} WHERE id = ANY(%s)", (list(dict.fromkeys(item_ids)),))
        return {row[0]: _item_from_row(row) for row in rows}

    def iter_users(self) -> Iterator[User]:
        for row in self._fetch("SELECT id, labels, comment FROM users ORDER BY id"):
            yield User(id=row[0], labels=row[1], comment=row[2])

    def iter_items(self) -> Iterator[Item]:
        for row in self._fetch(f"{SELECT_ITEM} ORDER BY id"):
            yield _item_from_row(row)

    def latest_items(self, n: int, since: int = 0) -> list[Item]:
        rows = self._fetch(
            f"{SELECT_ITEM} WHERE NOT hidden AND timestamp >= %s ORDER BY timestamp DESC, id LIMIT %s",
            (since, n),
        )
        return [_item_from_row(row) for row in rows]

    # Feedback

    def insert_feedback(self, feedback: Iterable[Feedback]) -> int:
        rows: list[tuple[object, ...]] = [
            (f.type, f.user_id, f.item_id, f.timestamp, f.value) for f in feedback
        ]
        self._upsert("feedback", FEEDBACK_COLUMNS, ("type", "user_id", "item_id"), rows)
        return len(rows)

    def user_feedback(self, user_id: str, types: Sequence[str] = (), limit: int = 0) -> list[Feedback]:
        query = f"{SELECT_FEEDBACK} WHERE user_id = %s"
        args: list[object] = [user_id]
        if types:
            query += " AND type = ANY(%s)"
            args.append(list(types))
        query += " ORDER BY timestamp DESC, item_id, type"
        if limit > 0:
            query += " LIMIT %s"
            args.append(limit)
        return [Feedback(*row) for row in self._fetch(query, args)]

    def popular_items(self, n: int, types: Sequence[str], since: int = 0) -> list[tuple[str, int]]:
        if not types:
            return []
        rows = self._fetch(
            "SELECT f.item_id, COUNT(*) AS c FROM feedback f JOIN items i ON i.id = f.item_id "
            "WHERE f.type = ANY(%s) AND f.timestamp >= %s AND NOT i.hidden "
            "GROUP BY f.item_id ORDER BY c DESC, f.item_id LIMIT %s",
            (list(types), since, n),
        )
        return [(row[0], row[1]) for row in rows]

    def iter_feedback(self) -> Iterator[Feedback]:
        for row in self._fetch(f"{SELECT_FEEDBACK} ORDER BY timestamp, user_id, item_id, type"):
            yield Feedback(*row)

    def count_feedback(self) -> int:
        return self._fetch("SELECT COUNT(*) FROM feedback")[0][0]

    # Flows

    @staticmethod
    def _next_version(conn: psycopg.Connection[tuple[Any, ...]], counter: str) -> int:
        # The upsert locks the counter row until commit, so concurrent writers on any replica
        # queue here and each gets the next number.
        row = conn.execute(
            "INSERT INTO version_counters (name, last_version) VALUES (%s, 1) "
            "ON CONFLICT (name) DO UPDATE SET last_version = version_counters.last_version + 1 "
            "RETURNING last_version",
            (counter,),
        ).fetchone()
        assert row is not None
        return row[0]

    def save_flow(self, data: bytes, comment: str = "") -> SavedFlow:
        created_at = int(time.time())
        with self._connection() as conn, conn.transaction():
            version = self._next_version(conn, "flow")
            conn.execute(
                "INSERT INTO flows (version, data, comment, created_at) VALUES (%s, %s, %s, %s)",
                (version, data, comment, created_at),
            )
            self._set_live(conn, version)
        return SavedFlow(version=version, data=data, comment=comment, created_at=created_at)

    def get_flow(self, version: int) -> SavedFlow | None:
        rows = self._fetch(
            "SELECT version, data, comment, created_at FROM flows WHERE version = %s", (version,)
        )
        return SavedFlow(rows[0][0], bytes(rows[0][1]), rows[0][2], rows[0][3]) if rows else None

    def list_flows(self, limit: int = 50) -> list[SavedFlow]:
        rows = self._fetch(
            "SELECT version, data, comment, created_at FROM flows ORDER BY version DESC LIMIT %s", (limit,)
        )
        return [SavedFlow(row[0], bytes(row[1]), row[2], row[3]) for row in rows]

    def live_flow_version(self) -> int:
        rows = self._fetch("SELECT live_version FROM flow_state WHERE id = 1")
        return rows[0][0] if rows else 0

    def set_live_flow(self, version: int) -> None:
        with self._connection() as conn, conn.transaction():
            if version:
                found = conn.execute("SELECT 1 FROM flows WHERE version = %s", (version,)).fetchone()
                if found is None:
                    raise KeyError(f"flow version {version} not found")
            self._set_live(conn, version)

    @staticmethod
    def _set_live(conn: psycopg.Connection[tuple[Any, ...]], version: int) -> None:
        conn.execute(
            "INSERT INTO flow_state (id, live_version) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET live_version = EXCLUDED.live_version",
            (version,),
        )

    # Model artifacts

    def save_artifact(self, kind: str, data: bytes) -> Artifact:
        created_at = int(time.time())
        with self._connection() as conn, conn.transaction():
            version = self._next_version(conn, f"artifact:{kind}")
            conn.execute(
                "INSERT INTO artifacts (kind, version, data, created_at) VALUES (%s, %s, %s, %s)",
                (kind, version, data, created_at),
            )
        return Artifact(kind=kind, version=version, data=data, created_at=created_at)

    def latest_artifact_version(self, kind: str) -> int:
        return self._fetch("SELECT COALESCE(MAX(version), 0) FROM artifacts WHERE kind = %s", (kind,))[0][0]

    def get_artifact(self, kind: str, version: int = 0) -> Artifact | None:
        query = "SELECT kind, version, data, created_at FROM artifacts WHERE kind = %s"
        if version == 0:
            rows = self._fetch(f"{query} ORDER BY version DESC LIMIT 1", (kind,))
        else:
            rows = self._fetch(f"{query} AND version = %s", (kind, version))
        return Artifact(rows[0][0], rows[0][1], bytes(rows[0][2]), rows[0][3]) if rows else None

    def close(self) -> None:
        self._pool.close()
