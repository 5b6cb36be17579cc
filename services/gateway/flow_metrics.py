"""Prometheus metrics of the gateway's flow: the live version and the reloads."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FLOW_VERSION = Gauge(
    "recmesh_flow_version",
    "Version of the flow this gateway serves; 0 is the configuration file's flow.",
)
FLOW_RELOADS = Counter(
    "recmesh_flow_reloads_total",
    "Polls of the store that changed the flow or failed, by outcome: swapped, rejected (the stored "
    "flow does not parse or validate), store_unavailable or error.",
    ["outcome"],
)
