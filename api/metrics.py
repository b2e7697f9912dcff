"""``/metrics``: this process's metrics (``synthesis.telemetry``: timer lateness, synthesis,
LLM and fan-out histograms, observed where they happen), the HTTP request histogram by route,
the gateway's gauges and counters, and the numbers read from the database.

Those database numbers (windows by status, lateness and synthesis quantiles of the last
``RECENT_WINDOWS`` completed windows, tokens spent) are gauges, and only one API process per
database exports them: the one holding the ``METRICS_LOCK`` session advisory lock on a small
dedicated connection. Any replica may take it over at its next scrape once the holder is gone,
so N replicas do not repeat them N times. ``medium_metrics_leader`` says which one has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from synthesis import store, telemetry
from synthesis.errors import MediumError
from synthesis.stats import quantile

if TYPE_CHECKING:
    from api.realtime import Gateway
    from synthesis.store_api import ApiStore

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUANTILES = (0.5, 0.9, 0.99)
RECENT_WINDOWS = 1000
METRICS_LOCK = 1835361386  # the session advisory lock of the database-metrics exporter
GATEWAY_COUNTERS = (
    ("notifications", "NOTIFYs received by the gateway listener."),
    ("messages", "Messages queued to WebSocket clients."),
    ("reconnects", "Gateway listener reconnections."),
    ("slow_closes", "Clients closed with 4408 (too slow)."),
    ("poll_catchups", "Frames caught up by the poll fallback, not a NOTIFY."),
    ("deltas", "narrative_delta messages queued to WebSocket clients."),
    ("bad_deltas", "Malformed narrative_delta NOTIFYs dropped."))


class _Families(Collector):
    """Metric families computed at scrape time (the gateway's, the database's)."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


class Leader:
    """Whether this process exports the database's numbers: it holds ``METRICS_LOCK`` on a
    dedicated connection. Checked at each scrape: the holder pings its connection; any other
    process tries the lock (free again once the holder's session ends). No DSN (a test app
    on a pool alone): this process is the only one, so it leads."""

    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self.conn: Any = None
        self.leading = dsn is None

    async def check(self) -> bool:
        if self.dsn is None:
            return True
        try:
            if self.conn is None:
                self.conn = await store.connect(self.dsn)
            if self.leading:
                await store.ping(self.conn)
            else:
                self.leading = await store.try_advisory_lock(self.conn, METRICS_LOCK)
        except (MediumError, OSError):
            await self.aclose()
        return self.leading

    async def aclose(self) -> None:
        conn, self.conn, self.leading = self.conn, None, self.dsn is None
        if conn is not None:
            try:
                await conn.close()
            except (MediumError, OSError):
                pass


class Metrics:
    """The HTTP histogram of this app, and the renderer of ``/metrics``."""

    def __init__(self, dsn: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.http = Histogram("medium_http_request_duration_seconds", "HTTP request latency by route template.",
                              ["method", "route", "status"], buckets=BUCKETS, registry=self.registry)
        self._scraped = _Families()
        self.registry.register(self._scraped)
        self.leader = Leader(dsn)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http.labels(method, route, str(status)).observe(seconds)

    async def render(self, st: ApiStore, gateway: Gateway) -> str:
        leading = await self.leader.check()
        families: list[Metric] = [_gauge("medium_metrics_leader", "1 in the one process per database that "
                                         "exports the database's numbers.", int(leading))]
        if leading:
            families += await _database(st)
        families += _gateway(gateway)
        self._scraped.families = families
        return (telemetry.render() + generate_latest(self.registry)).decode()

    async def aclose(self) -> None:
        await self.leader.aclose()


def _gauge(name: str, help_: str, value: float | None = None, *, labels: tuple[str, ...] = (),
           samples: Iterable[tuple[tuple[str, ...], float]] = ()) -> GaugeMetricFamily:
    if not labels:
        return GaugeMetricFamily(name, help_, value=value if value is not None else 0)
    g = GaugeMetricFamily(name, help_, labels=list(labels))
    for values, v in samples:
        g.add_metric(list(values), v)
    return g


async def _database(st: ApiStore) -> list[Metric]:
    try:
        counts = await st.window_counts(None)
        lat = await st.window_latencies(None, limit=RECENT_WINDOWS)
        usage = await st.llm_usage(None)
    except MediumError:
        return [_gauge("medium_database_up", "1 when the last scrape could read the database.", 0)]
    nan = float("nan")

    def quantiles(values: list[float]) -> list[tuple[tuple[str, ...], float]]:
        return [((str(q),), v if (v := quantile(values, q)) is not None else nan) for q in QUANTILES]

    return [
        _gauge("medium_database_up", "1 when the last scrape could read the database.", 1),
        _gauge("medium_windows", "Windows by status (open, claimed, failed), in the database.", labels=("status",),
               samples=[((s,), counts.get(s, 0)) for s in ("open", "claimed", "failed")]),
        _gauge("medium_open_windows", "Open character windows (timers), in the database.", counts.get("open", 0)),
        _gauge("medium_db_timer_lateness_seconds", f"Timer lateness quantiles over the last {RECENT_WINDOWS} "
               "completed windows (claimed_at - due_at), every worker's.", labels=("quantile",),
               samples=quantiles([x[0] / 1000 for x in lat])),
        _gauge("medium_db_synthesis_seconds", f"Synthesis time quantiles over the last {RECENT_WINDOWS} "
               "completed windows (completed_at - claimed_at), every worker's.", labels=("quantile",),
               samples=quantiles([x[1] / 1000 for x in lat])),
        _gauge("medium_db_llm_tokens", "LLM tokens spent by Medium syntheses (solid rows).", labels=("kind",),
               samples=[(("prompt",), usage.get("prompt_tokens", 0)),
                        (("completion",), usage.get("completion_tokens", 0))]),
        _gauge("medium_db_syntheses", "Medium syntheses written (solid rows).", usage.get("calls", 0)),
    ]


def _gateway(gateway: Gateway) -> list[Metric]:
    out: list[Metric] = [
        _gauge("medium_websocket_clients", "Connected WebSocket clients.", gateway.client_count()),
        _gauge("medium_gateway_frames", "Frames with connected clients.", len(gateway.feeds))]
    for key, help_ in GATEWAY_COUNTERS:
        out.append(CounterMetricFamily(f"medium_gateway_{key}", help_, value=gateway.counters[key]))
    return out


async def frame_stats(st: ApiStore, gateway: Gateway, frame_id: UUID) -> dict[str, Any]:
    """The GM's numbers for one frame (GET /frames/{id}/stats)."""
    counts = await st.window_counts(frame_id)
    lat = await st.window_latencies(frame_id, limit=RECENT_WINDOWS)
    usage = await st.llm_usage(frame_id)

    def pct(values: list[float]) -> dict[str, float | None]:
        return {k: (round(v, 3) if (v := quantile(values, q)) is not None else None)
                for k, q in (("p50", 0.5), ("p99", 0.99))}

    return {
        "open_windows": counts.get("open", 0), "failed_windows": counts.get("failed", 0),
        "lateness_ms": pct([x[0] for x in lat]), "synthesis_ms": pct([x[1] for x in lat]),
        "llm": {"calls": usage.get("calls", 0), "prompt_tokens": usage.get("prompt_tokens", 0),
                "completion_tokens": usage.get("completion_tokens", 0),
                "p50_ms": round(float(usage.get("p50_ms") or 0.0), 3)},
        "clients": gateway.client_count(frame_id),
    }
