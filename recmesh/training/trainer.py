"""One training run: read the store's data, evaluate on a time split, fit every model, save the artifacts."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recmesh.entities import Artifact, Feedback, Item, User
from recmesh.storage import Store
from recmesh.training import candidate_models, fm_model
from recmesh.training.candidate_models import CandidateModels, NeighborLists
from recmesh.training.dataset import Corpus, Interactions, build_interactions
from recmesh.training.evaluation import RankingQuality, evaluate_ranking
from recmesh.training.fm_model import FMModel
from recmesh.training.fm_trainer import FMParams, fit_fm
from recmesh.training.mf_trainer import Embeddings, MFParams, fit_mf
from recmesh.training.neighbors import co_occurrence_neighbors, embedding_neighbors, jaccard_neighbors
from recmesh.training.selection import top_n
from recmesh.training.split import split_by_time
from recmesh.user_context import FeedbackTypes

log = logging.getLogger(__name__)

# The item-to-item and user-to-user neighbour lists: three similarities each.
NEIGHBOR_STEPS = 6


class TrainingError(Exception):
    """The store's data cannot train a model."""


@dataclass(frozen=True)
class TrainingOptions:
    mf: MFParams = field(default_factory=MFParams)
    fm: FMParams = field(default_factory=FMParams)
    # Neighbours kept per item and per user.
    neighbors: int = 50
    evaluate: bool = True
    test_fraction: float = 0.2
    cutoff: int = 10

    def steps(self) -> int:
        """Return how many progress steps a run takes: one per epoch and one per neighbour list."""
        evaluation = self.mf.epochs if self.evaluate else 0
        return evaluation + self.mf.epochs + NEIGHBOR_STEPS + self.fm.epochs


@dataclass(frozen=True)
class Evaluation:
    collaborative: RankingQuality
    popular: RankingQuality


@dataclass(frozen=True)
class TrainingResult:
    candidate_models: CandidateModels
    fm_model: FMModel
    evaluation: Evaluation | None
    # Wall-clock seconds per stage: evaluation, mf, neighbors, fm.
    seconds: dict[str, float]


def train_models(
    corpus: Corpus,
    types: FeedbackTypes,
    options: TrainingOptions,
    on_step: Callable[[], None] | None = None,
) -> TrainingResult:
    """Fit the candidate models and the FM ranker on all of the corpus, after evaluating on its time split."""
    step = on_step or (lambda: None)
    seconds: dict[str, float] = {}
    interactions = build_interactions(
        corpus.feedback, (u.id for u in corpus.users), (i.id for i in corpus.items), types
    )
    if interactions.positives.nnz == 0:
        raise TrainingError(
            f"no feedback of the positive types {', '.join(types.positive)} in the store: import feedback first"
        )

    evaluation = None
    if options.evaluate:
        started = time.perf_counter()
        evaluation = evaluate_on_split(corpus, types, options, step)
        seconds["evaluation"] = time.perf_counter() - started

    started = time.perf_counter()
    embeddings = fit_mf(interactions.positives, options.mf, step)
    seconds["mf"] = time.perf_counter() - started

    started = time.perf_counter()
    models = build_candidate_models(interactions, embeddings, corpus, options.neighbors, step)
    seconds["neighbors"] = time.perf_counter() - started

    started = time.perf_counter()
    ranker = fit_fm(interactions, corpus.users, corpus.items, options.fm, step)
    seconds["fm"] = time.perf_counter() - started

    log.info("trained in %s", ", ".join(f"{stage} {value:.2f}s" for stage, value in seconds.items()))
    return TrainingResult(candidate_models=models, fm_model=ranker, evaluation=evaluation, seconds=seconds)


def save_models(store: Store, result: TrainingResult) -> tuple[Artifact, Artifact]:
    """Write both artifacts; each becomes the newest version of its kind."""
    candidates = store.save_artifact(candidate_models.KIND, result.candidate_models.to_bytes())
    ranker = store.save_artifact(fm_model.KIND, result.fm_model.to_bytes())
    return candidates, ranker


def build_candidate_models(
    interactions: Interactions,
    embeddings: Embeddings,
    corpus: Corpus,
    k: int,
    on_step: Callable[[], None],
) -> CandidateModels:
    """Compute the neighbour lists and bundle them with the embeddings."""
    positives = interactions.positives
    item_categories = _attribute_matrix(
        interactions.item_ids, {item.id: item.categories for item in corpus.items}
    )
    user_labels = _attribute_matrix(
        interactions.user_ids, {user.id: _label_names(user) for user in corpus.users}
    )

    user_trained = np.diff(positives.indptr) > 0
    # An untrained user's embedding is random initialisation: zeroed, it has no embedding neighbours.
    user_vectors = np.where(user_trained[:, None], embeddings.user_vectors, 0.0).astype(np.float32)

    item_neighbors = {}
    user_neighbors = {}
    for lists, similarity, compute in (
        (item_neighbors, "co_occurrence", lambda: co_occurrence_neighbors(positives.T.tocsr(), k)),
        (item_neighbors, "attributes", lambda: jaccard_neighbors(item_categories, k)),
        (item_neighbors, "embedding", lambda: embedding_neighbors(embeddings.item_vectors, k)),
        (user_neighbors, "co_occurrence", lambda: co_occurrence_neighbors(positives, k)),
        (user_neighbors, "attributes", lambda: jaccard_neighbors(user_labels, k)),
        (user_neighbors, "embedding", lambda: embedding_neighbors(user_vectors, k)),
    ):
        indices, scores = compute()
        lists[similarity] = NeighborLists(indices=indices, scores=scores)
        on_step()

    return CandidateModels(
        user_ids=interactions.user_ids,
        item_ids=interactions.item_ids,
        user_vectors=embeddings.user_vectors,
        item_vectors=embeddings.item_vectors,
        item_biases=embeddings.item_biases,
        user_trained=user_trained,
        positive_indptr=positives.indptr.astype(np.int64),
        positive_items=positives.indices.astype(np.int32),
        item_neighbors=item_neighbors,
        user_neighbors=user_neighbors,
        trained_at=time.time(),
    )


def evaluate_on_split(
    corpus: Corpus, types: FeedbackTypes, options: TrainingOptions, on_step: Callable[[], None]
) -> Evaluation:
    """Fit MF on the older part of each user's feedback and measure it and popularity on the newer part."""
    train, test = split_by_time(corpus.feedback, options.test_fraction)
    interactions = build_interactions(
        train, (u.id for u in corpus.users), (i.id for i in corpus.items), types
    )
    embeddings = fit_mf(interactions.positives, options.mf, on_step)

    seen = _items_by_user(train)
    positive_types = set(types.positive)
    relevant: dict[str, set[str]] = defaultdict(set)
    for row in test:
        if row.type in positive_types and row.item_id not in seen[row.user_id]:
            relevant[row.user_id].add(row.item_id)

    item_ids = interactions.item_ids
    trained = np.diff(interactions.positives.indptr) > 0
    popularity = np.asarray(interactions.positives.sum(axis=0)).ravel()

    def seen_rows(user_id: str) -> np.ndarray:
        return np.array([interactions.item_index[i] for i in seen[user_id]], dtype=np.int64)

    def recommend_collaborative(user_id: str, n: int) -> Sequence[str]:
        row = interactions.user_index[user_id]
        if not trained[row]:
            return []
        scores = embeddings.item_vectors @ embeddings.user_vectors[row] + embeddings.item_biases
        chosen, _ = top_n(scores, n, seen_rows(user_id))
        return item_ids[chosen].tolist()

    def recommend_popular(user_id: str, n: int) -> Sequence[str]:
        chosen, _ = top_n(popularity, n, seen_rows(user_id))
        return item_ids[chosen].tolist()

    return Evaluation(
        collaborative=evaluate_ranking(recommend_collaborative, relevant, options.cutoff),
        popular=evaluate_ranking(recommend_popular, relevant, options.cutoff),
    )


def _items_by_user(feedback: Iterable[Feedback]) -> dict[str, set[str]]:
    items: dict[str, set[str]] = defaultdict(set)
    for row in feedback:
        items[row.user_id].add(row.item_id)
    return items


def _label_names(user: User | Item) -> tuple[str, ...]:
    return tuple(f"{key}={value}" for key, value in sorted(user.labels.items()))


def _attribute_matrix(row_ids: np.ndarray, attributes: dict[str, Sequence[str]]) -> sp.csr_matrix:
    """Build a binary rows × attributes matrix; rows without an entry have no attributes."""
    names = sorted({name for values in attributes.values() for name in values})
    index = {name: j for j, name in enumerate(names)}
    rows, columns = [], []
    for i, row_id in enumerate(row_ids.tolist()):
        for name in set(attributes.get(row_id, ())):
            rows.append(i)
            columns.append(index[name])
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, columns)), shape=(len(row_ids), max(len(names), 1)))
