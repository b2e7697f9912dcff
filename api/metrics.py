"""Prometheus text exposition, hand-rolled: request latency per route (histogram), windows by
status, timer lateness and synthesis time from the windows table, LLM usage (from solid rows,
which every worker writes, and this process's registry), and the realtime gateway's gauges.

Lateness is ``claimed_at - due_at`` and synthesis time ``completed_at - claimed_at`` over the
most recently completed windows, so the numbers cover every worker, not only this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from synthesis.errors import MediumError
from synthesis.stats import quantile

if TYPE_CHECKING:
    from api.realtime import Gateway
    from synthesis.llm.registry import Registry
    from synthesis.store_api import ApiStore

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUANTILES = (0.5, 0.9, 0.99)
RECENT_WINDOWS = 1000


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
        self.total += seconds
        self.n += 1


def _labels(**kw: Any) -> str:
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in kw.items())
    return "{" + inner + "}" if inner else ""


class Metrics:
    """Process-local request metrics plus a renderer that reads the database on scrape."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self.requests.setdefault(key, Histogram()).observe(seconds)

    async def render(self, st: ApiStore, registry: Registry, gateway: Gateway) -> str:
        out: list[str] = []

        def metric(name: str, kind: str, help_: str, samples: list[tuple[str, Any]]) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{labels} {value}" for labels, value in samples)

        name = "medium_http_request_duration_seconds"
        out.append(f"# HELP {name} HTTP request latency by route template.")
        out.append(f"# TYPE {name} histogram")
        for (method, route, status), h in sorted(self.requests.items()):
            base = dict(method=method, route=route, status=status)
            for bound, count in zip(BUCKETS, h.counts, strict=True):
                out.append(f"{name}_bucket{_labels(**base, le=bound)} {count}")
            out.append(f"{name}_bucket{_labels(**base, le='+Inf')} {h.n}")
            out.append(f"{name}_sum{_labels(**base)} {round(h.total, 6)}")
            out.append(f"{name}_count{_labels(**base)} {h.n}")

        db_up = 1
        try:
            counts = await st.window_counts(None)
            lat = await st.window_latencies(None, limit=RECENT_WINDOWS)
            usage = await st.llm_usage(None)
        except MediumError:
            db_up, counts, lat, usage = 0, {}, [], {}
        metric("medium_database_up", "gauge", "1 when the last scrape could read the database.",
               [("", db_up)])
        metric("medium_windows", "gauge", "Windows by status (open, claimed, failed).",
               [(_labels(status=s), counts.get(s, 0)) for s in ("open", "claimed", "failed")])
        metric("medium_open_windows", "gauge", "Open character windows (timers).",
               [("", counts.get("open", 0))])
        for name, values, help_ in (
            ("medium_timer_lateness_seconds", [x[0] / 1000 for x in lat],
             f"Timer lateness (claimed_at - due_at) over the last {RECENT_WINDOWS} completed windows."),
            ("medium_synthesis_seconds", [x[1] / 1000 for x in lat],
             f"Synthesis time (completed_at - claimed_at) over the last {RECENT_WINDOWS} completed windows."),
        ):
            samples: list[tuple[str, Any]] = [
                (_labels(quantile=q), round(v, 6) if (v := quantile(values, q)) is not None else "NaN")
                for q in QUANTILES]
            metric(name, "summary", help_, samples)
            out.append(f"{name}_sum {round(sum(values), 6)}")
            out.append(f"{name}_count {len(values)}")
        metric("medium_llm_tokens_total", "counter", "LLM tokens spent by Medium syntheses (solid rows).",
               [(_labels(kind="prompt"), usage.get("prompt_tokens", 0)),
                (_labels(kind="completion"), usage.get("completion_tokens", 0))])
        metric("medium_llm_syntheses_total", "counter", "Medium syntheses written (solid rows).",
               [("", usage.get("calls", 0))])
        snap = registry.snapshot()
        metric("medium_llm_calls_total", "counter", "LLM calls made by this API process (soft analysis).",
               [(_labels(provider=p), s["calls"]) for p, s in sorted(snap.items())])
        metric("medium_llm_errors_total", "counter", "LLM call errors in this API process.",
               [(_labels(provider=p), s["errors"]) for p, s in sorted(snap.items())])
        metric("medium_llm_process_tokens_total", "counter", "LLM tokens spent by this API process.",
               [(_labels(provider=p, kind=k), s[f"{k}_tokens"]) for p, s in sorted(snap.items())
                for k in ("prompt", "completion")])
        metric("medium_websocket_clients", "gauge", "Connected WebSocket clients.",
               [("", gateway.client_count())])
        metric("medium_gateway_frames", "gauge", "Frames with connected clients.",
               [("", len(gateway.feeds))])
        for key, help_ in (("notifications", "NOTIFYs received by the gateway listener."),
                           ("messages", "Messages queued to WebSocket clients."),
                           ("reconnects", "Gateway listener reconnections."),
                           ("slow_closes", "Clients closed with 4408 (too slow)."),
                           ("poll_catchups", "Frames caught up by the poll fallback, not a NOTIFY."),
                           ("deltas", "narrative_delta messages queued to WebSocket clients."),
                           ("bad_deltas", "Malformed narrative_delta NOTIFYs dropped.")):
            metric(f"medium_gateway_{key}_total", "counter", help_, [("", gateway.counters[key])])
        return "\n".join(out) + "\n"


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
