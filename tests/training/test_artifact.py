from __future__ import annotations

import numpy as np
import pytest

from recmesh.storage.sqlite import SQLiteStore
from recmesh.training import candidate_models
from recmesh.training.artifact import ArtifactError, decode_artifact, encode_artifact
from recmesh.training.candidate_models import CandidateModels
from recmesh.training.fm_model import FMModel
from recmesh.training.trainer import save_models, train_models
from recmesh.user_context import FeedbackTypes
from tests import tiny_corpus


@pytest.fixture(scope="module")
def trained():
    return train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options())


def test_arrays_round_trip():
    arrays = {"ids": np.array(["a", "bb"]), "vectors": np.arange(6, dtype=np.float32).reshape(2, 3)}
    data = encode_artifact("test", arrays, {"note": "x"})
    decoded, meta = decode_artifact("test", data)
    assert decoded["ids"].tolist() == ["a", "bb"]
    assert np.array_equal(decoded["vectors"], arrays["vectors"])
    assert meta == {"note": "x"}


def test_decoded_arrays_are_read_only():
    decoded, _ = decode_artifact("test", encode_artifact("test", {"v": np.zeros(3)}, {}))
    with pytest.raises(ValueError):
        decoded["v"][0] = 1.0


def test_object_arrays_rejected_at_encoding():
    with pytest.raises(ValueError, match="pickle"):
        encode_artifact("test", {"bad": np.array([{"a": 1}], dtype=object)}, {})


def test_candidate_models_round_trip_through_store(tmp_path, trained):
    store = SQLiteStore(f"sqlite:///{tmp_path}/store.db")
    saved, ranker = save_models(store, trained)
    assert saved.version == 1
    assert ranker.version == 1

    loaded = CandidateModels.from_bytes(store.get_artifact(candidate_models.KIND).data)
    original = trained.candidate_models
    assert loaded.item_ids.tolist() == original.item_ids.tolist()
    assert np.array_equal(loaded.user_vectors, original.user_vectors)
    assert sorted(loaded.item_neighbors) == ["attributes", "co_occurrence", "embedding"]
    assert np.array_equal(
        loaded.item_neighbors["co_occurrence"].indices, original.item_neighbors["co_occurrence"].indices
    )
    assert loaded.positives_of(loaded.user_index["u2"]).tolist() == [0, 1]
    store.close()


def test_fm_model_round_trip(trained):
    loaded = FMModel.from_bytes(trained.fm_model.to_bytes())
    assert np.array_equal(loaded.item_vectors, trained.fm_model.item_vectors)
    assert loaded.item_features.tolist() == trained.fm_model.item_features.tolist()


def test_flipped_payload_byte_rejected(trained):
    data = bytearray(trained.candidate_models.to_bytes())
    data[-100] ^= 0xFF
    with pytest.raises(ArtifactError, match="sha256"):
        CandidateModels.from_bytes(bytes(data))


@pytest.mark.parametrize("keep", [0, 5, 30, 0.5, 0.99])
def test_truncated_artifact_rejected(trained, keep: float):
    data = trained.candidate_models.to_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    with pytest.raises(ArtifactError):
        CandidateModels.from_bytes(data[:cut])


def test_wrong_kind_rejected(trained):
    with pytest.raises(ArtifactError, match="kind"):
        CandidateModels.from_bytes(trained.fm_model.to_bytes())


def test_unknown_format_version_rejected():
    data = encode_artifact("test", {"v": np.zeros(1)}, {}).replace(
        b'"format_version": 1', b'"format_version": 9'
    )
    with pytest.raises(ArtifactError, match="format version 9"):
        decode_artifact("test", data)


def test_missing_array_rejected():
    data = encode_artifact(candidate_models.KIND, {"user_ids": np.array(["u"])}, {})
    with pytest.raises(ArtifactError, match="lacks the arrays"):
        CandidateModels.from_bytes(data)
