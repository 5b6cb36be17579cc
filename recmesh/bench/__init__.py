"""Offline comparison of the LLM reranker with the FM ranker (`recmesh bench-llm`)."""
