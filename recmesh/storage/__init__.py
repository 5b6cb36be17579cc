from __future__ import annotations

from recmesh.storage.base import Store, StoreError, StoreUnavailable


def open_store(url: str) -> Store:
    """Open the store a URL names: sqlite:///PATH or postgresql://..."""
    if url.startswith("sqlite:///"):
        from recmesh.storage.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from recmesh.storage.postgres import PostgresStore
        except ImportError as exc:
            raise ValueError(f"the PostgreSQL backend is not available: {exc}") from exc
        return PostgresStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH or postgresql://HOST/DB")


__all__ = ["Store", "StoreError", "StoreUnavailable", "open_store"]
