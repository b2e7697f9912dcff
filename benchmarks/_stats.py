"""The percentile helpers of the benchmarks: ``synthesis.stats`` (nearest rank), the same code
the metrics and the load test use, so every number in RESULTS.md is computed one way."""

from __future__ import annotations

from synthesis.stats import PERCENTILES, median, percentile, summarize

__all__ = ["PERCENTILES", "median", "percentile", "summarize"]
