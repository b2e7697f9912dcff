"""The plot: rolling latency percentiles per stage over time, and open windows over time."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from synthesis import installed
from synthesis.stats import percentile
from workers.loadtest.monitor import Sample
from workers.loadtest.report import STAGES, Series

ROLLING_SECONDS = 10.0
COLORS = {"p50": "tab:blue", "p90": "tab:orange", "p99": "tab:red"}


def rolling(points: list[tuple[float, float]], start: float, end: float, *, span: float = ROLLING_SECONDS,
            step: float = 1.0) -> dict[str, list[tuple[float, float]]]:
    """p50/p90/p99 of the samples in the trailing ``span`` seconds, every ``step`` seconds."""
    pts = sorted(points)
    out: dict[str, list[tuple[float, float]]] = {k: [] for k in COLORS}
    lo = hi = 0
    t = start + step
    while t <= end + step:
        while hi < len(pts) and pts[hi][0] <= t:
            hi += 1
        while lo < hi and pts[lo][0] < t - span:
            lo += 1
        window = sorted(ms for _, ms in pts[lo:hi])
        if window:
            for name, p in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0)):
                out[name].append((t - start, percentile(window, p)))
        t += step
    return out


def save(path: Path, *, series: Series, samples: list[Sample], started: float, title: str,
         marks: dict[str, float] | None = None, kills: list[float] | None = None) -> None:
    """``marks``: labelled moments (seconds since start); ``kills``: worker SIGKILLs."""
    with installed.extra("loadtest", "the load-test plot"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

    end = max([started, *(ts for pts in series.points.values() for ts, _ in pts),
               *(started + s.t for s in samples)])
    fig, axes = plt.subplots(3, 2, figsize=(13, 11), constrained_layout=True)
    flat: list[Any] = [ax for row in axes for ax in row]
    for ax, stage in zip(flat, STAGES, strict=False):
        roll = rolling(series.points[stage], started, end)
        pts = series.points[stage]
        if pts:
            ax.scatter([ts - started for ts, _ in pts], [max(ms, 0.01) for _, ms in pts], s=3,
                       color="0.75", label="samples", rasterized=True)
        for name, line in roll.items():
            if line:
                ax.plot([x for x, _ in line], [max(y, 0.01) for _, y in line], color=COLORS[name],
                        label=f"{name} ({ROLLING_SECONDS:.0f} s rolling)")
        ax.set_title(stage.replace("_", " "))
        ax.set_xlabel("seconds since start")
        ax.set_ylabel("ms")
        if pts and max(ms for _, ms in pts) > 0 and _spread(pts) > 20:
            ax.set_yscale("log")
        _marks(ax, marks, kills)
        ax.legend(loc="upper left", fontsize=7)
        ax.grid(alpha=0.3)
    ax = flat[4]
    xs = [s.t for s in samples]
    ax.plot(xs, [s.values.get("open") or 0 for s in samples], label="open windows")
    ax.plot(xs, [s.values.get("claimed") or 0 for s in samples], label="claimed (in synthesis)")
    ax.set_title("windows over time (sampled each second)")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("windows")
    _marks(ax, marks, kills)
    ax.legend(loc="upper left", fontsize=7)
    ax.grid(alpha=0.3)
    ax = flat[5]
    k = 5  # narratives per second, averaged over 5 samples
    rate = [(b.t, ((b.values.get("narratives") or 0) - (a.values.get("narratives") or 0)) / max(b.t - a.t, 1e-6))
            for a, b in zip(samples, samples[k:], strict=False)]
    ax.plot([x for x, _ in rate], [y for _, y in rate], color="tab:green", label="narratives/s (5 s average)")
    ax.plot(xs, [s.clients for s in samples], color="tab:purple", label="live clients")
    ax.set_title("throughput and clients")
    ax.set_xlabel("seconds since start")
    _marks(ax, marks, kills)
    ax.legend(loc="upper left", fontsize=7)
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _spread(pts: list[tuple[float, float]]) -> float:
    vals = sorted(max(ms, 0.01) for _, ms in pts)
    return vals[-1] / max(vals[len(vals) // 2], 0.01) if not math.isnan(vals[-1]) else 0.0


def _marks(ax: Any, marks: dict[str, float] | None, kills: list[float] | None = None) -> None:
    for x in kills or []:
        ax.axvline(x, color="tab:red", alpha=0.25, linewidth=0.8)
    for label, x in (marks or {}).items():
        ax.axvline(x, color="0.4", linestyle=":", linewidth=1)
        ax.annotate(label, (x, 1), xycoords=("data", "axes fraction"), fontsize=6, rotation=90,
                    va="top", ha="right", color="0.4")
