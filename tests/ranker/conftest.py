from __future__ import annotations

from tests.ranker.fake_rerank_api import api

__all__ = ["api"]
