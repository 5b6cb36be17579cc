from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.bench.run_settings import RunSettings, SettingsMismatchError, check_or_write_settings
from recmesh.bench.user_results import ResultsFile, ResultsFileError, UserResult

COLUMNS = ("fm", "reranker")


def result(user: str, reranker: float | None, failure: str = "") -> UserResult:
    return UserResult(
        user_id=user,
        group="1-20",
        train_count=5,
        test_count=3,
        aucs={"fm": 0.5, "reranker": reranker},
        failures={"reranker": failure} if failure else {},
    )


def test_appended_rows_read_back(tmp_path: Path):
    results = ResultsFile(tmp_path / "users.csv", COLUMNS)
    results.append(result("a", 0.75))
    results.append(result("b", None, "http_status"))
    results.close()
    read = ResultsFile(tmp_path / "users.csv", COLUMNS).read()
    assert read == {"a": result("a", 0.75), "b": result("b", None, "http_status")}
    assert read["b"].status == "failed"


def test_rows_visible_before_close(tmp_path: Path):
    results = ResultsFile(tmp_path / "users.csv", COLUMNS)
    results.append(result("a", 0.75))
    assert ResultsFile(tmp_path / "users.csv", COLUMNS).read() == {"a": result("a", 0.75)}
    results.close()


def test_later_row_replaces_earlier(tmp_path: Path):
    results = ResultsFile(tmp_path / "users.csv", COLUMNS)
    results.append(result("a", None, "timeout"))
    results.close()
    again = ResultsFile(tmp_path / "users.csv", COLUMNS)
    again.append(result("a", 0.25))
    again.close()
    assert again.read() == {"a": result("a", 0.25)}
    assert (tmp_path / "users.csv").read_text().count("\n") == 3


def test_rewrite_keeps_one_row_per_user(tmp_path: Path):
    results = ResultsFile(tmp_path / "users.csv", COLUMNS)
    results.append(result("a", None, "timeout"))
    results.append(result("a", 0.25))
    results.rewrite([result("a", 0.25)])
    lines = (tmp_path / "users.csv").read_text().splitlines()
    assert lines == [
        "user,group,train_count,test_count,auc_fm,auc_reranker,status,failure",
        "a,1-20,5,3,0.5,0.25,ok,",
    ]


def test_missing_file_reads_empty(tmp_path: Path):
    assert ResultsFile(tmp_path / "users.csv", COLUMNS).read() == {}


def test_other_columns_rejected(tmp_path: Path):
    results = ResultsFile(tmp_path / "users.csv", COLUMNS)
    results.append(result("a", 0.75))
    results.close()
    with pytest.raises(ResultsFileError, match="does not match"):
        ResultsFile(tmp_path / "users.csv", ("fm", "reranker", "switch")).read()


def test_malformed_row_rejected(tmp_path: Path):
    path = tmp_path / "users.csv"
    path.write_text(
        "user,group,train_count,test_count,auc_fm,auc_reranker,status,failure\na,1-20,x,3,0.5,,ok,\n"
    )
    with pytest.raises(ResultsFileError, match="line 2"):
        ResultsFile(path, COLUMNS).read()


def settings(**changes: object) -> RunSettings:
    values: dict[str, object] = {
        "groups": "1-20,21-",
        "seed": 42,
        "users": None,
        "epochs": 20,
        "test_fraction": 0.2,
        "flow_fingerprint": "abc",
        "columns": ("fm", "reranker"),
        "feedback_count": 100,
    }
    values.update(changes)
    return RunSettings(**values)  # type: ignore[arg-type]


def test_settings_written_then_matched(tmp_path: Path):
    path = tmp_path / "run.json"
    assert check_or_write_settings(path, settings()) is False
    assert check_or_write_settings(path, settings()) is True


def test_settings_mismatch_names_each_difference(tmp_path: Path):
    path = tmp_path / "run.json"
    check_or_write_settings(path, settings())
    with pytest.raises(SettingsMismatchError) as caught:
        check_or_write_settings(path, settings(seed=7, groups="1-"))
    message = str(caught.value)
    assert "seed: 42 there, 7 now" in message
    assert "groups: '1-20,21-' there, '1-' now" in message
    assert "pass another --out" in message


def test_unreadable_settings_rejected(tmp_path: Path):
    path = tmp_path / "run.json"
    path.write_text("{not json")
    with pytest.raises(SettingsMismatchError, match="cannot be read"):
        check_or_write_settings(path, settings())


def test_file_without_derived_column_read(tmp_path: Path):
    old = ResultsFile(tmp_path / "users.csv", COLUMNS)
    old.append(result("a", 0.75))
    old.close()

    read = ResultsFile(tmp_path / "users.csv", COLUMNS, derived=("switch",)).read()

    assert read["a"].aucs == {"fm": 0.5, "reranker": 0.75, "switch": None}


def test_rewrite_adds_derived_column(tmp_path: Path):
    old = ResultsFile(tmp_path / "users.csv", COLUMNS)
    old.append(result("a", 0.75))
    old.close()
    new = ResultsFile(tmp_path / "users.csv", COLUMNS, derived=("switch",))
    derived = UserResult("a", "1-20", 5, 3, {"fm": 0.5, "reranker": 0.75, "switch": 0.75})

    new.rewrite([derived])

    assert (tmp_path / "users.csv").read_text().splitlines()[0].endswith("auc_switch,status,failure")
    assert new.read() == {"a": derived}


def test_derived_column_without_scored_one_rejected(tmp_path: Path):
    path = tmp_path / "users.csv"
    path.write_text("user,group,train_count,test_count,auc_fm,auc_switch,status,failure\n", encoding="utf-8")

    with pytest.raises(ResultsFileError, match="does not match"):
        ResultsFile(path, COLUMNS, derived=("switch",)).read()
