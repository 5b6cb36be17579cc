"""The byte format of a model artifact: a JSON header, then a numpy .npz payload.

Layout: the 8-byte magic `RMARTIF1`, the header length as a 4-byte big-endian unsigned integer, the UTF-8
JSON header, then the payload. The header carries the format version, the artifact kind, the payload's length
and its sha256, so a truncated or corrupted artifact is rejected before numpy reads a byte of it. The payload
is read with `allow_pickle=False`: an artifact can carry arrays and nothing that runs code when loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

MAGIC = b"RMARTIF1"
FORMAT_VERSION = 1
# A header is a few hundred bytes; anything near this limit is not a header.
MAX_HEADER_BYTES = 1 << 20
_LENGTH = struct.Struct(">I")


class ArtifactError(ValueError):
    """An artifact's bytes are not a complete, intact artifact of the expected kind."""


def encode_artifact(kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    """Serialize named arrays and JSON-ready metadata into artifact bytes."""
    for name, array in arrays.items():
        if array.dtype == object:
            raise ValueError(f"array {name!r} has dtype object, which cannot be stored without pickle")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()

    header = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "meta": dict(meta),
    }
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    return MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes + payload


def decode_artifact(kind: str, data: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Check and read artifact bytes; return (arrays, meta). Raise ArtifactError when they are unusable."""
    header, payload = _split(kind, data)

    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{kind} artifact payload is not a readable .npz archive: {exc}") from exc
    for array in arrays.values():
        array.setflags(write=False)
    return arrays, header.get("meta", {})


def _split(kind: str, data: bytes) -> tuple[dict[str, Any], bytes]:
    prefix = len(MAGIC) + _LENGTH.size
    if len(data) < prefix or not data.startswith(MAGIC):
        raise ArtifactError(
            f"{kind} artifact does not start with the recmesh artifact magic: "
            "it was not written by `recmesh train`, retrain to replace it"
        )
    (header_length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if header_length > MAX_HEADER_BYTES or prefix + header_length > len(data):
        raise ArtifactError(f"{kind} artifact is truncated inside its header ({len(data)} bytes in all)")

    try:
        header = json.loads(data[prefix : prefix + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{kind} artifact header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"{kind} artifact header is not a JSON object")

    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{kind} artifact has format version {version!r}, this build reads version {FORMAT_VERSION}: "
            "retrain with this build of recmesh"
        )
    if header.get("kind") != kind:
        raise ArtifactError(f"artifact is of kind {header.get('kind')!r}, expected {kind!r}")

    payload = data[prefix + header_length :]
    expected_bytes = header.get("payload_bytes")
    if len(payload) != expected_bytes:
        raise ArtifactError(
            f"{kind} artifact payload has {len(payload)} bytes, its header records {expected_bytes}: "
            "the artifact is truncated or padded"
        )
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ArtifactError(f"{kind} artifact payload does not match the sha256 in its header: it is corrupt")
    return header, payload
