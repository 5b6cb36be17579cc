"""`bench-llm --suggest-switch`: choose the switch threshold on a validation slice of the training part.

The test split is never looked at. The newest test_fraction of each user's training feedback is
held out again, with split_by_time's rules, and FM is trained on the rest. Both rankers score the
held-out items, and the threshold search runs on those per-user AUCs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from recmesh.bench.flow_settings import BenchFlow
from recmesh.bench.fm_column import FmColumn
from recmesh.bench.groups import HistoryGroup
from recmesh.bench.reranker_column import RerankerColumn
from recmesh.bench.split_scoring import BenchOptions, ProgressListener, ScoredSplit, SplitJob, score_split
from recmesh.bench.switch_snippet import switch_from_snippet, switch_snippet
from recmesh.bench.switch_threshold import ThresholdSearch, ThresholdUser, search_threshold
from recmesh.entities import Feedback
from recmesh.training.dataset import Corpus
from recmesh.training.split import split_by_time
from recmesh.v1 import flow_pb2

log = logging.getLogger(__name__)

VALIDATION_FOLDER = "validation"
# Every user is a candidate: the groups of the table play no part in the threshold.
VALIDATION_GROUPS = [HistoryGroup(1, None)]


class SwitchSuggestionError(Exception):
    """No threshold can be chosen; the message states why and what to do."""


@dataclass(frozen=True)
class SwitchSuggestion:
    search: ThresholdSearch
    # The [recommend.ranker] TOML table that sets the best threshold.
    snippet: str
    # The snippet as the flow's ranker config, loaded by the configuration file's reader.
    ranker: flow_pb2.RankerConfig
    validation: ScoredSplit


async def suggest_switch(
    corpus: Corpus,
    train: Sequence[Feedback],
    flow: BenchFlow,
    auth_token: str,
    options: BenchOptions,
    progress: ProgressListener | None = None,
) -> SwitchSuggestion:
    """Score the validation slice of train (resuming from options.out/validation) and search the threshold.

    Raise SwitchSuggestionError when no validation user has both AUCs, and the errors of score_split.
    """
    inner_train, validation = split_by_time(train, options.test_fraction)
    job = SplitJob(out=options.out / VALIDATION_FOLDER, groups=VALIDATION_GROUPS, stage="validation users")
    scored = await score_split(corpus, inner_train, validation, flow, auth_token, options, job, progress)

    users = threshold_users(scored)
    if not users:
        raise SwitchSuggestionError(
            f"no validation user has both an FM and a reranker AUC ({len(scored.results):,} scored, "
            f"{len(scored.evaluation.users):,} eligible); check that the rerank API is up and rerun the same "
            "command to retry the failed users"
        )
    search = search_threshold(users)
    log.info("suggested switch threshold %s over %d validation users", search.best.threshold, search.users)

    snippet = switch_snippet(search.best.threshold, flow.llm.query_template, flow.llm.document_template)
    return SwitchSuggestion(
        search=search, snippet=snippet, ranker=switch_from_snippet(snippet), validation=scored
    )


def threshold_users(scored: ScoredSplit) -> list[ThresholdUser]:
    """Return the validation users both rankers scored, with their positive training count as the switch counts it."""
    users = []
    for result in scored.results:
        fm = result.aucs.get(FmColumn.name)
        reranker = result.aucs.get(RerankerColumn.name)
        if fm is None or reranker is None:
            continue
        users.append(
            ThresholdUser(
                count=scored.counts[result.user_id].positive,
                weight=result.test_count,
                fm_auc=fm,
                reranker_auc=reranker,
            )
        )
    return users
