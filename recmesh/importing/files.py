"""Generic CSV and JSONL import of users, items and feedback.

CSV files have a header row with these columns (extra columns are rejected):
  users:    id, labels, comment            labels as key=value pairs joined by "|"
  items:    id, categories, timestamp, labels, comment, hidden
            categories joined by "|", timestamp in unix seconds, hidden as true/false
  feedback: type, user_id, item_id, timestamp, value
JSONL files hold one object per line with the same keys; labels is an object, categories a list.
Only `id` (users, items) and type, user_id, item_id (feedback) are required.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from recmesh.entities import Feedback, Item, User
from recmesh.importing.dataset import Dataset
from recmesh.importing.movielens import DatasetError

COLUMNS = {
    "users": ("id", "labels", "comment"),
    "items": ("id", "categories", "timestamp", "labels", "comment", "hidden"),
    "feedback": ("type", "user_id", "item_id", "timestamp", "value"),
}
REQUIRED = {"users": ("id",), "items": ("id",), "feedback": ("type", "user_id", "item_id")}


def _csv_records(path: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        unknown = set(reader.fieldnames or ()) - set(COLUMNS[kind])
        if unknown:
            raise DatasetError(
                f"{path}: unknown column(s) {', '.join(sorted(unknown))}; {kind} files take {', '.join(COLUMNS[kind])}"
            )
        for row in reader:
            record: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
            if "labels" in record:
                record["labels"] = _parse_pairs(record["labels"])
            if "categories" in record:
                record["categories"] = record["categories"].split("|")
            if "hidden" in record:
                record["hidden"] = record["hidden"].strip().lower() in ("1", "true", "yes")
            yield f"{path}:{reader.line_num}", record


def _parse_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split("|"):
        key, separator, value = part.partition("=")
        if not separator or not key:
            raise ValueError(f"label {part!r} is not key=value")
        pairs[key] = value
    return pairs


def _jsonl_records(path: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: invalid JSON: {exc.msg}") from exc
            if not isinstance(record, dict):
                raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
            unknown = set(record) - set(COLUMNS[kind])
            if unknown:
                raise DatasetError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            yield where, record


def _build(kind: str, record: Mapping[str, Any]) -> User | Item | Feedback:
    for key in REQUIRED[kind]:
        if not isinstance(record.get(key), str) or not record[key]:
            raise ValueError(f"{key} is missing or not a non-empty string")
    if kind == "users":
        return User(id=record["id"], labels=_labels(record), comment=str(record.get("comment", "")))
    if kind == "items":
        categories = record.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ValueError("categories must be a list of strings")
        return Item(
            id=record["id"],
            categories=tuple(categories),
            timestamp=int(record.get("timestamp", 0)),
            labels=_labels(record),
            comment=str(record.get("comment", "")),
            hidden=bool(record.get("hidden", False)),
        )
    return Feedback(
        type=record["type"],
        user_id=record["user_id"],
        item_id=record["item_id"],
        timestamp=int(float(record.get("timestamp", 0))),
        value=float(record.get("value", 1.0)),
    )


def _labels(record: Mapping[str, Any]) -> dict[str, str]:
    labels = record.get("labels", {})
    if not isinstance(labels, dict):
        raise ValueError("labels must be an object of strings")
    return {str(k): str(v) for k, v in labels.items()}


def read_files(
    file_format: str, users: Path | None = None, items: Path | None = None, feedback: Path | None = None
) -> Dataset:
    """Read whichever of the three files are given; an invalid row raises DatasetError naming file:line."""
    read_records = _csv_records if file_format == "csv" else _jsonl_records
    dataset = Dataset(users=[], items=[], feedback=[])
    targets = {"users": (users, dataset.users), "items": (items, dataset.items)}
    targets["feedback"] = (feedback, dataset.feedback)
    for kind, (path, rows) in targets.items():
        if path is None:
            continue
        if not path.exists():
            raise DatasetError(f"{path}: file not found")
        for where, record in read_records(path, kind):
            try:
                rows.append(_build(kind, record))
            except (TypeError, ValueError) as exc:
                raise DatasetError(
                    f"{where}: invalid {kind[:-1] if kind != 'feedback' else kind} row: {exc}"
                ) from exc
    return dataset
