"""Limits a flow must stay within. They bound the work one request or one validation can cause
and catch numbers that are far outside any sensible setting, such as a timeout of a day."""

from __future__ import annotations

MAX_NODES = 256
MAX_EDGES = 1024
MAX_NODE_ID_CHARS = 128
# UTF-8 bytes of one query or document template.
MAX_TEMPLATE_BYTES = 64 * 1024

# Candidates and quota of one recommender per request.
MAX_CANDIDATES = 10_000
MAX_QUOTA = 10_000
# Neighbours summed by item-to-item and user-to-user recommenders, and feedbacks in a query.
MAX_CONTEXT_SIZE = 1_000
MAX_NEIGHBORS = 10_000
# Timeouts of external recommenders and rerank calls: ten minutes.
MAX_TIMEOUT_MS = 600_000
MAX_DOCUMENTS = 10_000
MAX_BREAKER_FAILURES = 10_000
MAX_BREAKER_RESET_SECONDS = 86_400
# Branches of one switch ranker; each request tests them in order.
MAX_SWITCH_BRANCHES = 64
# Items one Recommend call may ask for (`max_n` must not exceed it) and cached per user.
MAX_N_CAP = 10_000
MAX_CACHE_SIZE = 100_000
