"""Tiny, dependency-free percentile helpers shared by the timer benchmarks.

Percentiles use the **nearest-rank** method: the p-th percentile of n sorted
values is the value at 1-based rank ``ceil(p / 100 * n)`` (clamped to 1..n).
It always returns an observed sample (never an interpolated one), so p100 is
the max and, for small n, p99 is the max too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    if not sorted_values:
        raise ValueError("percentile of an empty list")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile out of range: {p}")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def median(values: Iterable[float]) -> float:
    """Classic median (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of an empty list")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def summarize(values_ms: list[float]) -> dict[str, float | None]:
    """``{"p50", "p90", "p99", "max"}`` of ``values_ms`` (nearest rank).

    An empty input gives ``None`` for every key, so a peer that fired nothing
    still produces a well-formed row.
    """
    keys = [name for name, _ in PERCENTILES] + ["max"]
    if not values_ms:
        return dict.fromkeys(keys)
    ordered = sorted(values_ms)
    out: dict[str, float | None] = {name: percentile(ordered, p) for name, p in PERCENTILES}
    out["max"] = ordered[-1]
    return out
