"""Percentiles, one way everywhere: the metrics, the LLM latency summary, the load test and
the benchmarks all use these.

The method is **nearest rank**: the q-quantile of n sorted values is the value at 1-based
rank ``ceil(q * n)``, clamped to 1..n. It always returns an observed sample (never an
interpolated one), so the maximum is q = 1 and, for small n, p99 is the maximum too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))


def nearest_rank(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of an ascending, non-empty list."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-th percentile (0 ≤ p ≤ 100) of an ascending, non-empty list."""
    if not sorted_values:
        raise ValueError("percentile of an empty list")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile out of range: {p}")
    return nearest_rank(sorted_values, p / 100.0)


def quantile(values: Iterable[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) of unsorted ``values``; None for no values."""
    ordered = sorted(values)
    return nearest_rank(ordered, q) if ordered else None


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
    """``{"p50", "p90", "p99", "max"}`` of ``values_ms``. An empty input gives None for every
    key, so a run that measured nothing still produces a well-formed row."""
    keys = [name for name, _ in PERCENTILES] + ["max"]
    if not values_ms:
        return dict.fromkeys(keys)
    ordered = sorted(values_ms)
    out: dict[str, float | None] = {name: percentile(ordered, p) for name, p in PERCENTILES}
    out["max"] = ordered[-1]
    return out
