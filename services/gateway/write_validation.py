"""Validate user, item and feedback writes before they reach the store; errors name the row and field."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence

from recmesh.entities import Feedback, Item, User
from recmesh.grpc_errors import InvalidArgument

MAX_ROWS = 10_000
MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 65_536
MAX_LABELS = 100
TYPE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_rows(field: str, rows: Sequence[object]) -> None:
    if not rows:
        raise InvalidArgument(f"{field}: at least one row is required")
    if len(rows) > MAX_ROWS:
        raise InvalidArgument(f"{field}: at most {MAX_ROWS} rows per call, got {len(rows)}")


def check_id(where: str, value: str) -> None:
    if not value.strip():
        raise InvalidArgument(f"{where}: must not be empty or blank")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"{where}: at most {MAX_ID_LENGTH} characters, got {len(value)}")
    if any(ord(c) < 32 for c in value):
        raise InvalidArgument(f"{where}: must not contain control characters")


def _check_text(where: str, labels: dict[str, str], comment: str) -> None:
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"{where}.labels: at most {MAX_LABELS} labels, got {len(labels)}")
    if len(comment) > MAX_TEXT_LENGTH:
        raise InvalidArgument(f"{where}.comment: at most {MAX_TEXT_LENGTH} characters, got {len(comment)}")


def validate_users(users: Sequence[User]) -> None:
    check_rows("users", users)
    for index, user in enumerate(users):
        check_id(f"users[{index}].id", user.id)
        _check_text(f"users[{index}]", user.labels, user.comment)


def validate_items(items: Sequence[Item]) -> None:
    check_rows("items", items)
    for index, item in enumerate(items):
        check_id(f"items[{index}].id", item.id)
        _check_text(f"items[{index}]", item.labels, item.comment)
        if item.timestamp < 0:
            raise InvalidArgument(f"items[{index}].timestamp: must not be negative, got {item.timestamp}")


def validate_feedback(feedback: Sequence[Feedback], now: float | None = None) -> list[Feedback]:
    """Return the rows with a missing timestamp set to now; raise InvalidArgument on the first bad row."""
    check_rows("feedback", feedback)
    stamp = int(time.time() if now is None else now)
    checked = []
    for index, row in enumerate(feedback):
        where = f"feedback[{index}]"
        if not TYPE_PATTERN.fullmatch(row.type):
            raise InvalidArgument(
                f"{where}.type: must be 1-64 letters, digits, '_', '.' or '-', got {row.type!r}"
            )
        check_id(f"{where}.user_id", row.user_id)
        check_id(f"{where}.item_id", row.item_id)
        if row.timestamp < 0:
            raise InvalidArgument(f"{where}.timestamp: must not be negative, got {row.timestamp}")
        if not math.isfinite(row.value):
            raise InvalidArgument(f"{where}.value: must be a finite number, got {row.value}")
        if row.timestamp == 0:
            row = Feedback(row.type, row.user_id, row.item_id, stamp, row.value)
        checked.append(row)
    return checked


def check_feedback_types(feedback: Sequence[Feedback], known: frozenset[str]) -> None:
    """Raise InvalidArgument for a row whose type the flow's data source does not read."""
    for index, row in enumerate(feedback):
        if row.type not in known:
            raise InvalidArgument(
                f"feedback[{index}].type: {row.type!r} is not a feedback type of the live flow; "
                f"known types: {', '.join(sorted(known))}"
            )
