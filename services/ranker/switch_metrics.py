"""Prometheus metrics of the switch ranker."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SWITCH_BRANCH_REQUESTS = Counter(
    "recmesh_switch_branch_requests_total",
    "Rank calls of a switch ranker by the branch taken (its index, or default) and that branch's ranker.",
    ["branch", "ranker"],
)
# Buckets from a user without feedback to a thousand feedbacks: where a threshold between branches
# would fall, to read before setting one.
SWITCH_HISTORY_COUNT = Histogram(
    "recmesh_switch_history_feedbacks",
    "Feedbacks of the users a switch ranker routed, by what the switch's branches count (positive or all).",
    ["count"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
