from __future__ import annotations

from pathlib import Path

import pytest

from recmesh.importing.files import read_files
from recmesh.importing.movielens import DatasetError


def test_csv_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        "id,categories,timestamp,labels,comment\ni1,a|b,10,year=1999|k=v,One\n"
    )
    (tmp_path / "feedback.csv").write_text("type,user_id,item_id,timestamp\nlike,u1,i1,5\n")

    dataset = read_files("csv", items=tmp_path / "items.csv", feedback=tmp_path / "feedback.csv")

    assert dataset.items[0].categories == ("a", "b")
    assert dataset.items[0].labels == {"year": "1999", "k": "v"}
    assert dataset.feedback[0].timestamp == 5
    assert dataset.feedback[0].value == 1.0


def test_jsonl_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "users.jsonl").write_text('{"id": "u1", "labels": {"age": "30"}}\n\n{"id": "u2"}\n')

    dataset = read_files("jsonl", users=tmp_path / "users.jsonl")

    assert [u.id for u in dataset.users] == ["u1", "u2"]
    assert dataset.users[0].labels == {"age": "30"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "feedback.csv",
            "type,user_id,item_id\nlike,,i1\n",
            "feedback.csv:2: invalid feedback row: user_id is missing",
        ),
        ("feedback.csv", "type,user,item_id\n", "unknown column(s) user"),
        ("feedback.jsonl", "{not json}\n", "feedback.jsonl:1: invalid JSON"),
        (
            "feedback.jsonl",
            '{"type": "like", "user_id": "u", "item_id": "i", "colour": 1}\n',
            "unknown key(s) colour",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)

    with pytest.raises(DatasetError) as caught:
        read_files(name.rsplit(".", 1)[1], feedback=path)

    assert message in str(caught.value)
