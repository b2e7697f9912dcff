"""``synthesis.stats``: one nearest-rank percentile for metrics, load test and benchmarks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synthesis import stats


def test_nearest_rank_is_an_observed_value() -> None:
    xs = [1.0, 2.0, 3.0, 4.0]
    assert [stats.percentile(xs, p) for p in (0, 25, 26, 50, 99, 100)] == [1.0, 1.0, 2.0, 2.0, 4.0, 4.0]
    assert stats.quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert stats.quantile([], 0.5) is None
    assert stats.summarize([]) == {"p50": None, "p90": None, "p99": None, "max": None}


@given(st.lists(st.floats(-1e6, 1e6), min_size=1), st.sampled_from([0.5, 0.9, 0.99, 1.0]))
def test_every_spelling_agrees(values: list[float], q: float) -> None:
    ordered = sorted(values)
    assert stats.quantile(values, q) == stats.nearest_rank(ordered, q) == stats.percentile(ordered, q * 100)
    assert stats.nearest_rank(ordered, q) in values
