"""PostgreSQL helpers shared by the storage and fault tests: a schema per test, and a loopback TCP
proxy that a test cuts and restores to simulate an outage."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

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


class TcpProxy:
    """Forwards a loopback port to the PostgreSQL server.

    stop() cuts every connection, as a server restart or a network partition would. start() then
    serves the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    # stop() ran while this connection was being set up.
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, destination: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                destination.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, destination):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def via_proxy(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))
