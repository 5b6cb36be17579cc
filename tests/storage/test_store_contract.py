"""The behaviour every Store backend must share; each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from recmesh.entities import Feedback, Item, User
from recmesh.storage.base import Store, StoreUnavailable
from recmesh.storage.postgres import PostgresStore
from recmesh.storage.sqlite import SQLiteStore

# Opens another store on the same database, as a second replica would (fixture open_replica).
StoreOpener = Callable[[], Store]


def closed_port() -> int:
    """Return a loopback port that nothing listens on: bound by the OS, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Users and items


def test_insert_users_replaces_same_id(store: Store) -> None:
    store.insert_users([User("u1", {"age": "30"}, "first")])
    written = store.insert_users([User("u1", {"age": "31"}, "second"), User("u2")])

    assert written == 2
    assert list(store.iter_users()) == [User("u1", {"age": "31"}, "second"), User("u2")]
    assert store.get_user("u1") == User("u1", {"age": "31"}, "second")


def test_insert_items_replaces_same_id(store: Store) -> None:
    store.insert_items([Item("i1", ("drama",), 10, {"year": "1995"}, "Heat")])
    store.insert_items([Item("i1", ("crime", "drama"), 11, {}, "Heat (1995)", hidden=True)])

    assert list(store.iter_items()) == [Item("i1", ("crime", "drama"), 11, {}, "Heat (1995)", hidden=True)]


def test_item_fields_round_trip(store: Store) -> None:
    item = Item("i1", ("a", "b c", "ünï"), 2**40, {"k": "v", "x": "y"}, "comment with 'quotes'", False)
    store.insert_items([item, Item("empty")])

    assert store.get_items(["i1", "empty"]) == {"i1": item, "empty": Item("empty")}


def test_unknown_ids_are_missing(store: Store) -> None:
    store.insert_items([Item("i1")])

    assert store.get_user("nobody") is None
    assert store.get_items(["i1", "missing"]) == {"i1": Item("i1")}
    assert store.get_items([]) == {}
    assert store.user_feedback("nobody") == []


def test_get_items_with_many_ids(store: Store) -> None:
    store.insert_items([Item(f"i{n:05d}", timestamp=n) for n in range(2500)])
    wanted = [f"i{n:05d}" for n in range(0, 5000, 2)] + ["i00000", "i00002"]

    found = store.get_items(wanted)

    assert len(found) == 1250
    assert found["i02498"] == Item("i02498", timestamp=2498)
    assert "i02500" not in found


def test_iter_users_and_items_by_id(store: Store) -> None:
    store.insert_users([User("b"), User("B"), User("a")])
    store.insert_items([Item("z"), Item("Z"), Item("m")])

    assert [u.id for u in store.iter_users()] == ["B", "a", "b"]
    assert [i.id for i in store.iter_items()] == ["Z", "m", "z"]


def test_latest_items_newest_first_ties_by_id(store: Store) -> None:
    store.insert_items(
        [
            Item("old", timestamp=1),
            Item("b", timestamp=5),
            Item("a", timestamp=5),
            Item("hidden", timestamp=9, hidden=True),
            Item("new", timestamp=7),
        ]
    )

    assert [i.id for i in store.latest_items(10)] == ["new", "a", "b", "old"]
    assert [i.id for i in store.latest_items(2)] == ["new", "a"]
    assert [i.id for i in store.latest_items(10, since=5)] == ["new", "a", "b"]


# Feedback


def test_insert_feedback_replaces_same_key(store: Store) -> None:
    store.insert_feedback([Feedback("like", "u1", "i1", 10, 1.0)])
    store.insert_feedback([Feedback("like", "u1", "i1", 20, 3.0), Feedback("read", "u1", "i1", 15)])

    assert store.count_feedback() == 2
    assert store.user_feedback("u1") == [
        Feedback("like", "u1", "i1", 20, 3.0),
        Feedback("read", "u1", "i1", 15, 1.0),
    ]


def test_insert_feedback_last_duplicate_in_batch_wins(store: Store) -> None:
    batch = [Feedback("like", "u1", "i1", 1, 1.0), Feedback("like", "u1", "i1", 2, 2.0)]

    store.insert_feedback(batch)

    assert store.user_feedback("u1") == [Feedback("like", "u1", "i1", 2, 2.0)]


def test_large_feedback_batch_is_idempotent(store: Store) -> None:
    # Large enough for the PostgreSQL bulk path (COPY into a staging table).
    batch = [Feedback("like", f"u{n % 40}", f"i{n}", n, float(n % 5)) for n in range(3000)]
    batch.append(Feedback("like", "u0", "i0", 99_999, 4.0))

    store.insert_feedback(batch)
    store.insert_feedback(batch)

    assert store.count_feedback() == 3000
    assert store.user_feedback("u0", limit=1) == [Feedback("like", "u0", "i0", 99_999, 4.0)]


def test_user_feedback_newest_first(store: Store) -> None:
    store.insert_feedback(
        [
            Feedback("like", "u1", "i1", 10),
            Feedback("read", "u1", "i2", 30),
            Feedback("like", "u1", "i3", 20),
            Feedback("like", "u1", "i0", 20),
            Feedback("like", "u2", "i9", 40),
        ]
    )

    assert [f.item_id for f in store.user_feedback("u1")] == ["i2", "i0", "i3", "i1"]
    assert [f.item_id for f in store.user_feedback("u1", types=["like"])] == ["i0", "i3", "i1"]
    assert [f.item_id for f in store.user_feedback("u1", limit=2)] == ["i2", "i0"]


def test_popular_items_most_counted_first_ties_by_id(store: Store) -> None:
    store.insert_items([Item("a"), Item("b"), Item("c"), Item("h", hidden=True)])
    store.insert_feedback(
        [
            Feedback("like", "u1", "c", 5),
            Feedback("like", "u2", "c", 6),
            Feedback("like", "u1", "b", 7),
            Feedback("like", "u1", "a", 1),
            Feedback("read", "u3", "a", 8),
            Feedback("like", "u1", "h", 9),
            Feedback("like", "u2", "h", 9),
            Feedback("like", "u3", "h", 9),
            Feedback("like", "u1", "unknown", 9),
        ]
    )

    assert store.popular_items(10, ["like"]) == [("c", 2), ("a", 1), ("b", 1)]
    assert store.popular_items(10, ["like", "read"]) == [("a", 2), ("c", 2), ("b", 1)]
    assert store.popular_items(1, ["like"]) == [("c", 2)]
    assert store.popular_items(10, ["like"], since=6) == [("b", 1), ("c", 1)]
    assert store.popular_items(10, []) == []


def test_iter_feedback_by_time_user_item_type(store: Store) -> None:
    rows = [
        Feedback("read", "u2", "i1", 5),
        Feedback("like", "u2", "i1", 5),
        Feedback("like", "u1", "i2", 5),
        Feedback("like", "u1", "i1", 5),
        Feedback("like", "u9", "i9", 1),
    ]
    store.insert_feedback(rows)

    assert list(store.iter_feedback()) == [
        Feedback("like", "u9", "i9", 1),
        Feedback("like", "u1", "i1", 5),
        Feedback("like", "u1", "i2", 5),
        Feedback("like", "u2", "i1", 5),
        Feedback("read", "u2", "i1", 5),
    ]
    assert store.count_feedback() == 5


# Flows


def test_save_flow_makes_it_live(store: Store) -> None:
    first = store.save_flow(b"\x00graph-1", "first")
    second = store.save_flow(b"graph-2")

    assert (first.version, second.version) == (1, 2)
    assert store.live_flow_version() == 2
    assert store.live_flow() == second
    assert store.get_flow(1) == first
    assert store.get_flow(1).data == b"\x00graph-1"


def test_list_flows_newest_first(store: Store) -> None:
    for n in range(5):
        store.save_flow(f"graph-{n}".encode())

    assert [f.version for f in store.list_flows()] == [5, 4, 3, 2, 1]
    assert [f.version for f in store.list_flows(limit=2)] == [5, 4]


def test_set_live_flow_and_back_to_config(store: Store) -> None:
    assert store.live_flow_version() == 0
    assert store.live_flow() is None
    store.save_flow(b"one")
    store.save_flow(b"two")

    store.set_live_flow(1)
    assert store.live_flow_version() == 1

    store.set_live_flow(0)
    assert store.live_flow_version() == 0
    assert store.live_flow() is None


def test_set_live_flow_unknown_version_raises(store: Store) -> None:
    store.save_flow(b"one")

    with pytest.raises(KeyError, match="flow version 7 not found"):
        store.set_live_flow(7)
    assert store.live_flow_version() == 1
    assert store.get_flow(7) is None


# Model artifacts


def test_artifact_versions_per_kind(store: Store) -> None:
    assert store.latest_artifact_version("mf") == 0
    assert store.get_artifact("mf") is None

    mf1 = store.save_artifact("mf", b"mf-1")
    fm1 = store.save_artifact("fm", b"fm-1")
    mf2 = store.save_artifact("mf", b"mf-2")

    assert (mf1.version, fm1.version, mf2.version) == (1, 1, 2)
    assert store.latest_artifact_version("mf") == 2
    assert store.latest_artifact_version("fm") == 1
    assert store.get_artifact("mf") == mf2
    assert store.get_artifact("mf", 1) == mf1
    assert store.get_artifact("mf", 3) is None
    assert store.get_artifact("unknown") is None


# Several writers


def test_concurrent_feedback_writers_lose_nothing(store: Store) -> None:
    writers, per_writer = 8, 40

    def write(writer: int) -> int:
        acknowledged = 0
        for n in range(per_writer):
            store.insert_feedback([Feedback("like", f"u{writer}", f"i{n}", n)])
            acknowledged += 1
        return acknowledged

    with ThreadPoolExecutor(writers) as pool:
        acknowledged = sum(pool.map(write, range(writers)))

    assert acknowledged == writers * per_writer
    assert store.count_feedback() == writers * per_writer


def test_replicas_get_distinct_versions(open_replica: StoreOpener) -> None:
    replicas = [open_replica() for _ in range(3)]
    saves_per_thread = 6
    start = threading.Barrier(len(replicas) * 2)

    def save(index: int) -> list[tuple[str, int]]:
        replica = replicas[index % len(replicas)]
        start.wait()
        saved = []
        for n in range(saves_per_thread):
            saved.append(("flow", replica.save_flow(f"{index}-{n}".encode()).version))
            saved.append(("mf", replica.save_artifact("mf", f"{index}-{n}".encode()).version))
        return saved

    with ThreadPoolExecutor(len(replicas) * 2) as pool:
        saved = [entry for entries in pool.map(save, range(len(replicas) * 2)) for entry in entries]

    total = len(replicas) * 2 * saves_per_thread
    flow_versions = sorted(v for kind, v in saved if kind == "flow")
    mf_versions = sorted(v for kind, v in saved if kind == "mf")
    assert flow_versions == list(range(1, total + 1))
    assert mf_versions == list(range(1, total + 1))
    assert replicas[0].latest_artifact_version("mf") == total
    assert len(replicas[1].list_flows(limit=1000)) == total


def test_replica_sees_other_replicas_writes(open_replica: StoreOpener) -> None:
    writer, reader = open_replica(), open_replica()

    flow = writer.save_flow(b"graph")
    artifact = writer.save_artifact("fm", b"weights")
    writer.insert_feedback([Feedback("like", "u1", "i1", 1)])

    assert reader.live_flow() == flow
    assert reader.get_artifact("fm") == artifact
    assert reader.count_feedback() == 1


# Unreachable databases


def test_unwritable_sqlite_path_raises_unavailable() -> None:
    # /proc accepts no new files, even for root.
    with pytest.raises(StoreUnavailable):
        SQLiteStore("sqlite:////proc/recmesh-test.db")


def test_sqlite_directory_path_raises_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        SQLiteStore(f"sqlite:///{tmp_path}")


def test_unreachable_postgres_raises_unavailable() -> None:
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{closed_port()}/test", timeout=0.5)
    try:
        with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
            store.count_feedback()
        with pytest.raises(StoreUnavailable):
            store.insert_feedback([Feedback("like", "u1", "i1")])
        with pytest.raises(StoreUnavailable):
            store.save_flow(b"graph")
    finally:
        store.close()
