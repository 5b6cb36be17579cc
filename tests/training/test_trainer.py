from __future__ import annotations

import numpy as np
import pytest

from recmesh import cli
from recmesh.entities import User
from recmesh.storage.sqlite import SQLiteStore
from recmesh.training.dataset import build_interactions, read_corpus
from recmesh.training.trainer import TrainingError, train_models
from recmesh.user_context import FeedbackTypes
from tests import tiny_corpus


def test_interactions_mark_read_without_like_negative():
    data = tiny_corpus.corpus()
    interactions = build_interactions(data.feedback, [], [], FeedbackTypes())
    u2 = interactions.user_index["u2"]
    assert interactions.negatives[u2, interactions.item_index["d1"]] == 1
    assert interactions.negatives.nnz == 1
    assert interactions.positives.nnz == 11


def test_trained_neighbors_match_fixture():
    result = train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options())
    models = result.candidate_models
    neighbors = models.item_neighbors["co_occurrence"]
    rows, scores = neighbors.of(models.item_index["a1"])
    assert models.item_ids[rows].tolist() == ["a2", "a3"]
    assert scores.tolist() == pytest.approx([1.0, 0.5])
    user_rows, _ = models.user_neighbors["co_occurrence"].of(models.user_index["u2"])
    assert models.user_ids[user_rows].tolist() == ["u1"]
    label_rows, _ = models.user_neighbors["attributes"].of(models.user_index["u3"])
    assert models.user_ids[label_rows].tolist() == ["u4"]


def test_evaluation_reports_both_recommenders():
    result = train_models(tiny_corpus.corpus(), FeedbackTypes(), tiny_corpus.fast_options(evaluate=True))
    assert result.evaluation is not None
    assert result.evaluation.collaborative.users == result.evaluation.popular.users
    assert result.evaluation.collaborative.users > 0
    assert "evaluation" in result.seconds


def test_training_without_positives_rejected():
    data = tiny_corpus.corpus()
    with pytest.raises(TrainingError, match="import feedback first"):
        train_models(data, FeedbackTypes(positive=("star",)), tiny_corpus.fast_options())


def test_train_command_saves_artifacts(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/store.db"
    store = SQLiteStore(url)
    store.insert_users(tiny_corpus.USERS)
    store.insert_items(tiny_corpus.ITEMS)
    store.insert_feedback(tiny_corpus.feedback())
    monkeypatch.setenv("RECMESH_DATA_STORE", url)

    assert cli.main(["train", "--epochs", "2"]) == 0

    output = capsys.readouterr().out
    assert "saved candidate-models version 1 and fm-ranker version 1" in output
    assert "collaborative" in output
    assert "popular" in output
    assert store.latest_artifact_version("candidate-models") == 1
    assert store.latest_artifact_version("fm-ranker") == 1
    assert len(read_corpus(store).feedback) == 12
    store.close()


def test_train_command_no_eval_prints_no_table(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/store.db"
    store = SQLiteStore(url)
    store.insert_feedback(tiny_corpus.feedback())
    monkeypatch.setenv("RECMESH_DATA_STORE", url)

    assert cli.main(["train", "--epochs", "1", "--no-eval"]) == 0

    assert "NDCG" not in capsys.readouterr().out
    store.close()


def test_train_command_empty_store_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RECMESH_DATA_STORE", f"sqlite:///{tmp_path}/store.db")
    assert cli.main(["train", "--epochs", "1"]) == 1
    assert "import feedback first" in capsys.readouterr().err


def test_untrained_user_has_no_embedding_neighbors():
    data = tiny_corpus.corpus()
    data.users.append(User(id="u6"))
    result = train_models(data, FeedbackTypes(), tiny_corpus.fast_options())
    models = result.candidate_models
    u6 = models.user_index["u6"]
    assert not models.user_trained[u6]
    assert models.trained_user("u6") is None
    assert (models.user_neighbors["embedding"].indices[u6] == -1).all()
    assert not np.isin(u6, models.user_neighbors["embedding"].indices).any()
