"""This process's metrics for Prometheus (``prometheus_client``), observed where they happen:

* ``medium_timer_lateness_seconds``: claim time minus due time, by the worker that claims;
* ``medium_synthesis_seconds{result}``: one window, claim to routed or failed, by the worker;
* ``medium_llm_seconds{provider}``: one logical LLM call (its retries included), by whoever
  calls (the worker's Mediums, the API's soft analysis), beside ``medium_llm_calls_total`` and
  ``medium_llm_errors_total``;
* ``medium_fanout_seconds``: the gateway, from reading an event to its WebSocket send.

The API serves them on ``/metrics`` with its own; a worker serves them on
``--metrics-port`` (loopback by default). Numbers read from the database are gauges that only
one process per database exports (``api.metrics``), so replicas do not repeat them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server

REGISTRY = CollectorRegistry()
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

TIMER_LATENESS = Histogram(
    "medium_timer_lateness_seconds", "Timer lateness: claim time minus due time, observed by the claiming worker.",
    buckets=SECONDS, registry=REGISTRY)
SYNTHESIS = Histogram(
    "medium_synthesis_seconds", "One window's synthesis, claim to routed (result=done) or failed attempt.",
    ["result"], buckets=SECONDS, registry=REGISTRY)
LLM_SECONDS = Histogram(
    "medium_llm_seconds", "One logical LLM call, its retries included, by provider.",
    ["provider"], buckets=SECONDS, registry=REGISTRY)
LLM_CALLS = Counter("medium_llm_calls", "LLM calls made by this process.", ["provider"], registry=REGISTRY)
LLM_ERRORS = Counter("medium_llm_errors", "LLM calls of this process that failed.", ["provider"], registry=REGISTRY)
FANOUT = Histogram(
    "medium_fanout_seconds", "Gateway fan-out: from reading an event to its WebSocket send, per client.",
    buckets=SECONDS, registry=REGISTRY)


def render() -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``render()`` on http://host:port/ from a daemon thread (a worker's metrics)."""
    start_http_server(port, addr=host, registry=REGISTRY)
