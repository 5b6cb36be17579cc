"""run.json: the settings of a bench-llm run, checked before a later run resumes from the same folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class SettingsMismatchError(ValueError):
    """The output folder contains a run made with other settings; the message lists them."""


@dataclass(frozen=True)
class RunSettings:
    groups: str
    seed: int
    users: int | None
    epochs: int
    test_fraction: float
    flow_fingerprint: str
    columns: tuple[str, ...]
    # Feedback rows in the store, so a re-imported or grown store is not mixed with an older run.
    feedback_count: int

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["columns"] = list(self.columns)
        return values


def check_or_write_settings(path: Path, settings: RunSettings) -> bool:
    """Write settings to path when it is missing; return True when an earlier run's settings match.

    Raise SettingsMismatchError naming every setting that differs.
    """
    wanted = settings.to_json()
    if not path.exists():
        path.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
        return False
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsMismatchError(
            f"{path} cannot be read ({exc}); delete the folder or pass another --out"
        ) from exc
    if not isinstance(found, dict):
        raise SettingsMismatchError(f"{path} is not a JSON object; delete the folder or pass another --out")

    differences = [
        f"{key}: {found.get(key)!r} there, {value!r} now"
        for key, value in wanted.items()
        if found.get(key) != value
    ]
    if differences:
        raise SettingsMismatchError(
            f"{path.parent} contains a run with different settings ({'; '.join(differences)}); pass another --out "
            "to start a new run, or rerun with the earlier settings to resume it"
        )
    return True
