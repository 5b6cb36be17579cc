"""Versioned schema migrations for the PostgreSQL store.

Each step runs once, in order, inside one transaction with its row in schema_migrations, so a
replica that starts during another replica's migration waits on the advisory lock and then finds
nothing left to do. A new schema change is a new step appended to MIGRATIONS; never edit a step
that has shipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

log = logging.getLogger(__name__)

# Key of the transaction-level advisory lock that serializes migrations across replicas.
MIGRATION_LOCK_KEY = 0x7265636D65736801


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


# Ids use the "C" collation so that ORDER BY id sorts by code point, as SQLite does; otherwise
# the order of mixed-case ids would depend on the server's locale.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create users, items, feedback, flows and artifacts",
        """
        CREATE TABLE users (
            id TEXT COLLATE "C" PRIMARY KEY,
            labels JSONB NOT NULL,
            comment TEXT NOT NULL
        );
        CREATE TABLE items (
            id TEXT COLLATE "C" PRIMARY KEY,
            categories TEXT[] NOT NULL,
            timestamp BIGINT NOT NULL,
            labels JSONB NOT NULL,
            comment TEXT NOT NULL,
            hidden BOOLEAN NOT NULL
        );
        CREATE INDEX items_by_time ON items (hidden, timestamp DESC, id);
        CREATE TABLE feedback (
            type TEXT COLLATE "C" NOT NULL,
            user_id TEXT COLLATE "C" NOT NULL,
            item_id TEXT COLLATE "C" NOT NULL,
            timestamp BIGINT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (type, user_id, item_id)
        );
        CREATE INDEX feedback_by_user ON feedback (user_id, timestamp DESC);
        CREATE INDEX feedback_by_type_time ON feedback (type, timestamp, item_id);
        CREATE TABLE flows (
            version BIGINT PRIMARY KEY,
            data BYTEA NOT NULL,
            comment TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE flow_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            live_version BIGINT NOT NULL
        );
        CREATE TABLE artifacts (
            kind TEXT COLLATE "C" NOT NULL,
            version BIGINT NOT NULL,
            data BYTEA NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (kind, version)
        );
        """,
    ),
    Migration(
        2,
        "add version counters for flows and artifacts",
        # One row per counter ("flow", "artifact:KIND"). Incrementing it with an upsert takes a
        # row lock until commit, so concurrent replicas get distinct, gap-free versions.
        """
        CREATE TABLE version_counters (
            name TEXT COLLATE "C" PRIMARY KEY,
            last_version BIGINT NOT NULL
        );
        INSERT INTO version_counters (name, last_version)
            SELECT 'flow', COALESCE(MAX(version), 0) FROM flows;
        INSERT INTO version_counters (name, last_version)
            SELECT 'artifact:' || kind, MAX(version) FROM artifacts GROUP BY kind;
        """,
    ),
)


def applied_versions(conn: psycopg.Connection) -> set[int]:
    """Return the migration versions recorded in schema_migrations (empty when it does not exist)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def pending_migrations(conn: psycopg.Connection) -> list[Migration]:
    done = applied_versions(conn)
    return [m for m in MIGRATIONS if m.version not in done]


def apply_migrations(conn: psycopg.Connection) -> list[Migration]:
    """Apply every pending migration in order and return the ones this call applied.

    conn must be in autocommit mode. The whole run is one transaction holding the advisory lock,
    with a savepoint per step, so a failing step leaves the schema as it was before the run.
    """
    applied: list[Migration] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for migration in pending_migrations(conn):
            with conn.transaction():
                conn.execute(migration.sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            log.info("applied schema migration %d: %s", migration.version, migration.name)
            applied.append(migration)
    return applied
