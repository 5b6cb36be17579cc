"""`recmesh bench-llm` with a switch column and --suggest-switch, end to end against a rerank API on loopback.

Every user has 38 feedbacks: the newest 8 are the test split, the 6 before them the validation slice
of the training part, and the 24 before those the validation run's training part. Documents carry the
score the API gives them ("s="), set so that the reranker orders perfectly for the cold users (few
likes) and exactly backwards for the warm users (many likes). So the best validation threshold sends
the cold users to the reranker and the warm ones to FM: the warm users' smallest count, 15.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from recmesh.bench.switch_snippet import switch_snippet
from recmesh.entities import Feedback, Item, User
from recmesh.storage import open_store
from tests.bench.scoring_rerank_api import ScoringRerankApi
from tests.bench.test_bench_llm_command import bench, read_users, write_config

QUERY_TEMPLATE = "user {{ user.id }}: {% for f in feedback %}{{ f.item_id }} {% endfor %}"
DOCUMENT_TEMPLATE = "{{ item.comment }}"
# Likes among the validation run's 24 training feedbacks; the test run's training part adds 3 more.
COLD_USERS = {"c1": 1, "c2": 2, "c3": 3}
WARM_USERS = {"w1": 15, "w2": 16, "w3": 17}
EXPECTED_THRESHOLD = 15
VALIDATION_ITEMS = 6
TEST_ITEMS = 8


def build_feedback() -> tuple[list[Feedback], dict[str, str]]:
    """Return the feedback and each held-out item's document text."""
    feedback = []
    comments = {}
    for user, likes in {**COLD_USERS, **WARM_USERS}.items():
        is_cold = user in COLD_USERS
        for t in range(24):
            feedback.append(Feedback("like" if t < likes else "read", user, f"h{t}", t))
        held_out = [f"{user}v{k}" for k in range(VALIDATION_ITEMS)] + [
            f"{user}x{k}" for k in range(TEST_ITEMS)
        ]
        for offset, item in enumerate(held_out):
            is_like = offset % 2 == 0
            feedback.append(Feedback("like" if is_like else "read", user, item, 24 + offset))
            comments[item] = "s=1" if is_like == is_cold else "s=0"
    return feedback, comments


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'switch.db'}"
    feedback, comments = build_feedback()
    store = open_store(url)
    store.insert_users([User(id=user) for user in {**COLD_USERS, **WARM_USERS}])
    items = sorted({row.item_id for row in feedback})
    store.insert_items(
        [Item(id=item, categories=("drama",), comment=comments.get(item, "old")) for item in items]
    )
    store.insert_feedback(feedback)
    store.close()
    return url


@pytest.fixture
def api() -> Iterator[ScoringRerankApi]:
    api = ScoringRerankApi()
    api.start()
    yield api
    api.stop()


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as stream:
        return {row["user"]: row for row in csv.DictReader(stream)}


def test_suggest_switch_finds_known_threshold(
    tmp_path: Path, store_url: str, api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, api.url)
    out = tmp_path / "out"

    assert bench(config, out, "--suggest-switch") == 0

    validation = read_csv(out / "validation" / "users.csv")
    assert sorted(validation) == sorted({**COLD_USERS, **WARM_USERS})
    for user in COLD_USERS:
        assert float(validation[user]["auc_reranker"]) == 1.0
    for user in WARM_USERS:
        assert float(validation[user]["auc_reranker"]) == 0.0
    assert all(row["test_count"] == str(VALIDATION_ITEMS) for row in validation.values())

    table = json.loads((out / "table.json").read_text())
    suggested = table["suggested_switch"]
    assert suggested["threshold"] == EXPECTED_THRESHOLD
    assert suggested["validation_users_to_reranker"] == len(COLD_USERS)
    routed = [1.0 if user in COLD_USERS else float(validation[user]["auc_fm"]) for user in validation]
    assert suggested["validation_gauc"] == pytest.approx(sum(routed) / len(routed))
    assert suggested["validation_gauc_always_reranker"] == pytest.approx(0.5)
    assert table["switch"] == {
        "origin": "--suggest-switch",
        "branches": ["positive < 15: llm", "default: fm"],
    }
    assert table["columns"] == ["fm", "reranker", "switch"]

    printed = capsys.readouterr().out
    assert "threshold: positive < 15 to the reranker, the rest to FM" in printed
    assert "max_count = 15" in printed
    assert 'type = "switch"' in printed


def test_switch_column_routes_test_users(tmp_path: Path, store_url: str, api: ScoringRerankApi):
    config = write_config(tmp_path / "recmesh.toml", store_url, api.url)
    out = tmp_path / "out"

    assert bench(config, out, "--suggest-switch") == 0

    rows = {row["user"]: row for row in read_users(out)}
    for user in COLD_USERS:
        assert float(rows[user]["auc_reranker"]) == 1.0
        assert rows[user]["auc_switch"] == rows[user]["auc_reranker"]
    for user in WARM_USERS:
        assert float(rows[user]["auc_reranker"]) == 0.0
        assert rows[user]["auc_switch"] == rows[user]["auc_fm"]
    table = json.loads((out / "table.json").read_text())
    overall = table["overall"]["gauc"]
    assert overall["switch"]["value"] >= max(overall["fm"]["value"], overall["reranker"]["value"])
    assert table["overall"]["difference"]["switch"]["users"] == 6


def test_validation_never_sees_test_split(tmp_path: Path, store_url: str, api: ScoringRerankApi):
    config = write_config(tmp_path / "recmesh.toml", store_url, api.url)

    assert bench(config, tmp_path / "out", "--suggest-switch") == 0

    # Concurrency 1: the 6 validation calls come first, then the 6 test calls.
    assert len(api.requests) == 12
    validation_calls, test_calls = api.requests[:6], api.requests[6:]
    for request in validation_calls:
        assert len(request["documents"]) == VALIDATION_ITEMS
        sent_items = request["query"].split(": ", 1)[1].split()
        assert all(item.startswith("h") for item in sent_items), request["query"]
    for request in test_calls:
        assert len(request["documents"]) == TEST_ITEMS


def test_resume_derives_switch_for_old_run(
    tmp_path: Path, store_url: str, api: ScoringRerankApi, capsys: pytest.CaptureFixture[str]
):
    config = write_config(tmp_path / "recmesh.toml", store_url, api.url)
    out = tmp_path / "out"
    assert bench(config, out) == 0
    assert "no switch column" in capsys.readouterr().out
    # A users.csv written before the switch column existed.
    rows = read_users(out)
    with (out / "users.csv").open("w", newline="") as stream:
        fields = [name for name in rows[0] if name != "auc_switch"]
        writer = csv.DictWriter(stream, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    test_calls = len(api.requests)

    assert bench(config, out, "--suggest-switch") == 0

    # Only the validation slice is scored: the test users come from the old file.
    assert len(api.requests) == test_calls + 6
    assert "6 from an earlier run" in capsys.readouterr().out
    resumed = {row["user"]: row for row in read_users(out)}
    for user in COLD_USERS:
        assert resumed[user]["auc_switch"] == resumed[user]["auc_reranker"]
    for user in WARM_USERS:
        assert resumed[user]["auc_switch"] == resumed[user]["auc_fm"]


def test_flow_switch_used_for_column(tmp_path: Path, store_url: str, api: ScoringRerankApi):
    # Threshold 5: the test run's positive counts are 4, 5, 6 (cold) and 18, 19, 20 (warm), so only c1
    # goes to the reranker, and c2 (exactly 5) already goes to FM.
    config = tmp_path / "switch.toml"
    config.write_text(
        f'[database]\ndata_store = "{store_url}"\n\n[recommend]\ncontext_size = 2\n\n'
        + switch_snippet(5, QUERY_TEMPLATE, DOCUMENT_TEMPLATE)
        + f'\n[recommend.ranker.reranker_api]\nurl = "{api.url}"\nmodel = "scoring-test"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"

    assert bench(config, out) == 0

    table = json.loads((out / "table.json").read_text())
    assert table["switch"]["branches"] == ["positive < 5: llm", "default: fm"]
    assert table["switch"]["origin"].startswith("the ranker node of the flow of")
    assert "suggested_switch" not in table
    assert not (out / "validation").exists()
    rows = {row["user"]: row for row in read_users(out)}
    assert rows["c1"]["auc_switch"] == rows["c1"]["auc_reranker"]
    for user in ("c2", "c3", *WARM_USERS):
        assert rows[user]["auc_switch"] == rows[user]["auc_fm"]
