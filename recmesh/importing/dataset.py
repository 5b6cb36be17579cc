"""A data set in memory, and writing it to a store in batches with progress."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recmesh.entities import Feedback, Item, User
from recmesh.progress import ProgressBar
from recmesh.storage import Store

BATCH_ROWS = 5000


@dataclass
class Dataset:
    users: list[User]
    items: list[Item]
    feedback: list[Feedback]


@dataclass(frozen=True)
class ImportReport:
    users: int
    items: int
    feedback: int
    # Feedback rows that were not in the store before.
    new_feedback: int


def _write_batches(rows: Sequence, write: Callable[[Sequence], int], progress: ProgressBar) -> int:
    written = 0
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        written += write(batch)
        progress.advance(len(batch))
    return written


def import_dataset(store: Store, dataset: Dataset, show_progress: bool = False) -> ImportReport:
    """Upsert users, items, then feedback; a second run of the same data adds no rows."""
    total = len(dataset.users) + len(dataset.items) + len(dataset.feedback)
    progress = ProgressBar("import", total, force=show_progress)
    before = store.count_feedback()
    users = _write_batches(dataset.users, store.insert_users, progress)
    items = _write_batches(dataset.items, store.insert_items, progress)
    feedback = _write_batches(dataset.feedback, store.insert_feedback, progress)
    progress.close()
    return ImportReport(
        users=users, items=items, feedback=feedback, new_feedback=store.count_feedback() - before
    )
