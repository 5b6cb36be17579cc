"""Per-user results and users.csv, which a run appends to as users finish and a later run resumes from."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

STATUS_OK = "ok"
STATUS_FAILED = "failed"


class ResultsFileError(ValueError):
    """users.csv cannot be read as this run's results; the message names the file and the line."""


@dataclass(frozen=True)
class UserResult:
    user_id: str
    group: str
    train_count: int
    test_count: int
    # AUC per column name; None for a column that failed on the user.
    aucs: dict[str, float | None]
    # Failure reason per failed column.
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return STATUS_FAILED if self.failures else STATUS_OK


def header(columns: Sequence[str]) -> list[str]:
    return [
        "user",
        "group",
        "train_count",
        "test_count",
        *(f"auc_{name}" for name in columns),
        "status",
        "failure",
    ]


class ResultsFile:
    """users.csv in the output folder: one row per finished user, flushed as it is written.

    A user can appear more than once when a later run retried them; the last row is the current one.
    """

    def __init__(self, path: Path, columns: Sequence[str], derived: Sequence[str] = ()) -> None:
        """columns are the scored columns; derived ones are computed from them and may be missing in the file.

        A file written before a derived column existed is read with that column None, and the next
        rewrite adds it.
        """
        self.path = path
        self.scored = list(columns)
        self.columns = [*columns, *derived]
        self._stream: TextIO | None = None
        self._writer: csv.writer | None = None  # type: ignore[valid-type]

    def read(self) -> dict[str, UserResult]:
        """Return the current result of each user in the file; {} when there is no file yet."""
        if not self.path.exists():
            return {}
        results: dict[str, UserResult] = {}
        with self.path.open(newline="", encoding="utf-8") as stream:
            reader = csv.reader(stream)
            found = next(reader, None)
            if found is None:
                return {}
            if found == header(self.columns):
                stored = self.columns
            elif found == header(self.scored):
                stored = self.scored
            else:
                raise ResultsFileError(
                    f"{self.path}: header {','.join(found)} does not match this run's "
                    f"{','.join(header(self.columns))}; use another --out or delete the folder"
                )
            for line_number, row in enumerate(reader, start=2):
                result = self._parse_row(row, line_number, stored)
                results[result.user_id] = result
        return results

    def _parse_row(self, row: list[str], line_number: int, stored: Sequence[str]) -> UserResult:
        if len(row) != len(header(stored)):
            raise ResultsFileError(
                f"{self.path}: line {line_number} has {len(row)} fields, expected {len(header(stored))}"
            )
        user_id, group, train_count, test_count, *values, status, failure = row
        try:
            found = {
                name: (float(value) if value else None) for name, value in zip(stored, values, strict=True)
            }
            aucs = {name: found.get(name) for name in self.columns}
            counts = int(train_count), int(test_count)
        except ValueError as exc:
            raise ResultsFileError(f"{self.path}: line {line_number}: {exc}") from exc
        failures = dict(_parse_failures(failure)) if status == STATUS_FAILED else {}
        return UserResult(user_id, group, counts[0], counts[1], aucs, failures)

    def append(self, result: UserResult) -> None:
        """Write one row and flush it, so an interrupted run loses no finished user."""
        if self._stream is None:
            is_new = not self.path.exists() or self.path.stat().st_size == 0
            self._stream = self.path.open("a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._stream)
            if is_new:
                self._writer.writerow(header(self.columns))
        assert self._writer is not None
        self._writer.writerow(self._row(result))
        self._stream.flush()

    def rewrite(self, results: Iterable[UserResult]) -> None:
        """Replace the file with one row per user, atomically, dropping rows that later rows replaced."""
        self.close()
        temporary = self.path.with_suffix(".csv.tmp")
        with temporary.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(header(self.columns))
            for result in results:
                writer.writerow(self._row(result))
        os.replace(temporary, self.path)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
            self._writer = None

    def _row(self, result: UserResult) -> list[str]:
        values = [_format_auc(result.aucs.get(name)) for name in self.columns]
        failure = ";".join(f"{name}:{reason}" for name, reason in sorted(result.failures.items()))
        return [
            result.user_id,
            result.group,
            str(result.train_count),
            str(result.test_count),
            *values,
            result.status,
            failure,
        ]


def _format_auc(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return repr(value)


def _parse_failures(text: str) -> Iterable[tuple[str, str]]:
    for part in text.split(";"):
        name, _, reason = part.partition(":")
        if name:
            yield name, reason or "error"
