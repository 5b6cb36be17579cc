"""`recmesh bench-llm` end to end: a SQLite store with known feedback, a real HTTP rerank API on loopback."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh import cli
from recmesh.entities import Feedback, Item, User
from recmesh.storage import open_store
from tests.bench.scoring_rerank_api import TOKENS_PER_DOCUMENT, ScoringRerankApi

# Test items and the score the API gives each (from "s=" in its document), with the user's label.
# u1: pairs (g1,b1) yes, (g1,b2) yes, (g2,b1) no, (g2,b2) yes: AUC 0.75 over 4 test feedbacks.
# u2: a tie, AUC 0.5 over 2. u3: the negative scores higher, AUC 0 over 2.
TEST_ITEMS = {
    "u1": [("g1", 0.9, "like"), ("g2", 0.2, "like"), ("b1", 0.5, "read"), ("b2", 0.1, "read")],
    "u2": [("p2", 0.4, "like"), ("n2", 0.4, "read")],
    "u3": [("p3", 0.3, "like"), ("n3", 0.8, "read")],
}
EXPECTED_RERANKER_GAUC = {"1-9": (2 * 0.5 + 2 * 0.0) / 4, "10-": 0.75, "all": (4 * 0.75 + 2 * 0.5) / 8}


def build_feedback() -> list[Feedback]:
    feedback = []
    # u1 has 16 training feedbacks (likes on even t), u2 and u3 have 8; each then holds out its test items.
    for user, train_count in (("u1", 16), ("u2", 8), ("u3", 8)):
        for t in range(train_count):
            kind = "like" if t % 2 == 0 else "read"
            feedback.append(Feedback(kind, user, f"{user}t{t}", t))
        for offset, (item, _, kind) in enumerate(TEST_ITEMS[user]):
            feedback.append(Feedback(kind, user, item, 100 + offset))
    # Skipped: a single feedback (u4), no negative test feedback (u5), no positive training feedback (u6).
    feedback.append(Feedback("like", "u4", "u1t0", 1))
    feedback += [Feedback("like", "u5", f"u1t{t}", t) for t in range(5)]
    feedback += [Feedback("read", "u6", f"u1t{t}", t) for t in range(8)]
    feedback += [Feedback("like", "u6", "g1", 50), Feedback("read", "u6", "b1", 51)]
    return feedback


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    store = open_store(url)
    item_ids = {row.item_id for row in build_feedback()}
    scores = {item: score for items in TEST_ITEMS.values() for item, score, _ in items}
    store.insert_users([User(id=f"u{n}") for n in range(1, 7)])
    store.insert_items(
        [
            Item(id=item, categories=("drama",), comment=f"s={scores[item]}" if item in scores else "old")
            for item in sorted(item_ids)
        ]
    )
    store.insert_feedback(build_feedback())
    store.close()
    return url


def write_config(path: Path, store_url: str, api_url: str) -> Path:
    path.write_text(
        f"""
[database]
data_store = "{store_url}"

[recommend]
context_size = 2

[recommend.ranker]
type = "llm"
query_template = "user {{{{ user.id }}}}: {{% for f in feedback %}}{{{{ f.item_id }}}} {{% endfor %}}"
document_template = "{{{{ item.comment }}}}"

[recommend.ranker.reranker_api]
url = "{api_url}"
auth_token = "secret-bench-token"
model = "scoring-test"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def healthy_api() -> Iterator[ScoringRerankApi]:
    api = ScoringRerankApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def failing_api() -> Iterator[ScoringRerankApi]:
    api = ScoringRerankApi(fail_after=1)
    api.start()
    yield api
    api.stop()


def bench(config: Path, out: Path, *extra: str) -> int:
    return cli.main(
        [
            "--config",
            str(config),
            "bench-llm",
            "--groups",
            "1-9,10-",
            "--out",
            str(out),
            "--epochs",
            "2",
            "--concurrency",
            "1",
            "--timeout",
            "0.5",
            *extra,
        ]
    )


def read_users(out: Path) -> list[dict[str, str]]:
    with (out / "users.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def gauc(table: dict, group: str, column: str) -> dict:
    row = table["overall"] if group == "all" else next(g for g in table["groups"] if g["group"] == group)
    return row["gauc"][column]


def test_bench_reports_known_gauc(
    tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)
    out = tmp_path / "out"

    assert bench(config, out) == 0

    table = json.loads((out / "table.json").read_text())
    for group, expected in EXPECTED_RERANKER_GAUC.items():
        assert gauc(table, group, "reranker")["value"] == pytest.approx(expected)
    assert gauc(table, "all", "fm")["users"] == 3
    assert 0.0 <= gauc(table, "all", "fm")["value"] <= 1.0
    assert table["overall"]["test_feedbacks"] == 8
    assert table["skipped"] == {"no_test_feedback": 1, "no_negative_in_test": 1, "no_positive_in_training": 1}
    assert table["reranker"]["calls"] == 3
    assert table["reranker"]["documents"] == 8
    assert table["reranker"]["tokens"] == 8 * TOKENS_PER_DOCUMENT

    rows = {row["user"]: row for row in read_users(out)}
    assert sorted(rows) == ["u1", "u2", "u3"]
    assert float(rows["u1"]["auc_reranker"]) == pytest.approx(0.75)
    assert rows["u1"]["group"] == "10-"
    assert rows["u1"]["train_count"] == "16"
    assert rows["u1"]["test_count"] == "4"
    assert all(row["status"] == "ok" for row in rows.values())
    assert (out / "gauc_by_group.png").read_bytes().startswith(b"\x89PNG")

    printed = capsys.readouterr()
    assert "overall GAUC: fm " in printed.out
    assert "reranker 0.5000" in printed.out
    assert "reranker calls: 3" in printed.out
    assert "secret-bench-token" not in printed.out + printed.err


def test_query_from_newest_positive_training_feedback(
    tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)

    assert bench(config, tmp_path / "out") == 0

    # context_size 2: u1's two newest training likes, never its liked test items g1 and g2.
    assert sorted(healthy_api.queries()) == [
        "user u1: u1t14 u1t12 ",
        "user u2: u2t6 u2t4 ",
        "user u3: u3t6 u3t4 ",
    ]
    sent = {item for request in healthy_api.requests for item in request["documents"]}
    assert sent == {"s=0.9", "s=0.2", "s=0.5", "s=0.1", "s=0.4", "s=0.3", "s=0.8"}


def test_failed_users_reported_then_resumed(
    tmp_path: Path,
    store_url: str,
    failing_api: ScoringRerankApi,
    healthy_api: ScoringRerankApi,
    capsys: pytest.CaptureFixture[str],
):
    out = tmp_path / "out"
    first_config = write_config(tmp_path / "first.toml", store_url, failing_api.url)

    # One request succeeds (u1, the first user in id order), then every request gets HTTP 500.
    assert bench(first_config, out) == 0

    printed = capsys.readouterr().out
    assert "the reranker failed on 2 users" in printed
    assert "http_status 2" in printed
    table = json.loads((out / "table.json").read_text())
    assert gauc(table, "all", "fm")["users"] == 3
    assert gauc(table, "all", "reranker")["users"] == 1
    assert gauc(table, "all", "reranker")["failed"] == 2
    assert gauc(table, "all", "reranker")["value"] == pytest.approx(0.75)
    rows = {row["user"]: row for row in read_users(out)}
    assert rows["u2"]["status"] == "failed"
    assert rows["u2"]["failure"] == "reranker:http_status"
    assert rows["u2"]["auc_reranker"] == ""
    assert 0.0 <= float(rows["u2"]["auc_fm"]) <= 1.0

    second_config = write_config(tmp_path / "second.toml", store_url, healthy_api.url)

    assert bench(second_config, out) == 0

    assert sorted(healthy_api.queries()) == ["user u2: u2t6 u2t4 ", "user u3: u3t6 u3t4 "]
    printed = capsys.readouterr().out
    assert "1 from an earlier run" in printed
    assert "failed on" not in printed
    table = json.loads((out / "table.json").read_text())
    for group, expected in EXPECTED_RERANKER_GAUC.items():
        assert gauc(table, group, "reranker")["value"] == pytest.approx(expected)
    rows_after = read_users(out)
    assert sorted(row["user"] for row in rows_after) == ["u1", "u2", "u3"]
    assert all(row["status"] == "ok" for row in rows_after)
    assert {row["user"]: row["auc_fm"] for row in rows_after}["u1"] == rows["u1"]["auc_fm"]


def test_changed_settings_rejected_on_resume(
    tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)
    out = tmp_path / "out"
    assert bench(config, out) == 0
    calls = len(healthy_api.requests)

    assert bench(config, out, "--seed", "7") == 2

    assert "seed: 42 there, 7 now" in capsys.readouterr().err
    assert len(healthy_api.requests) == calls


def test_finished_run_repeats_no_call(tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)
    out = tmp_path / "out"
    assert bench(config, out) == 0
    calls = len(healthy_api.requests)

    assert bench(config, out) == 0

    assert len(healthy_api.requests) == calls
    assert len(read_users(out)) == 3


def test_flow_without_llm_ranker_rejected(
    tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)
    flow_file = tmp_path / "fm.toml"
    flow_file.write_text(
        """
[[nodes]]
id = "data_source"
type = "data_source"

[[nodes]]
id = "latest"
type = "latest"
candidates = 10

[[nodes]]
id = "ranker"
type = "ranker"
ranker = "fm"

[[nodes]]
id = "recommend"
type = "recommend"
default_n = 10
max_n = 100

[[edges]]
source = "data_source"
target = "latest"

[[edges]]
source = "latest"
target = "ranker"

[[edges]]
source = "ranker"
target = "recommend"
"""
    )

    assert bench(config, tmp_path / "out", "--flow", str(flow_file)) == 2

    error = capsys.readouterr().err
    assert f"flow file {flow_file}" in error
    assert "ranker node 'ranker' (fm) has no llm ranker" in error
    assert healthy_api.requests == []


def test_invalid_flow_file_rejected(
    tmp_path: Path, store_url: str, healthy_api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)
    flow_file = tmp_path / "broken.toml"
    flow_file.write_text('[[nodes]]\nid = "ranker"\ntype = "ranker"\nranker = "llm"\n')

    assert bench(config, tmp_path / "out", "--flow", str(flow_file)) == 2

    error = capsys.readouterr().err
    assert f"flow file {flow_file} is invalid" in error
    assert healthy_api.requests == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--groups", "10-,1-9", "must be the last one"),
        ("--concurrency", "0", "--concurrency must be at least 1"),
        ("--users", "0", "--users must be at least 1"),
        ("--timeout", "0", "--timeout must be a positive number"),
    ],
)
def test_invalid_options_rejected(
    tmp_path: Path,
    store_url: str,
    healthy_api: ScoringRerankApi,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
):
    config = write_config(tmp_path / "recmesh.toml", store_url, healthy_api.url)

    assert bench(config, tmp_path / "out", flag, value) == 2

    assert message in capsys.readouterr().err
