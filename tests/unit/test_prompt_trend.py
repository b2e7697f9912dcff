"""The load test's prompt-token trend (issue 16, item 8): first minute, last minute, max, and
whether the run stayed within the budget."""

from __future__ import annotations

from workers.loadtest import prompt_trend


def solid(window: str, at: float, tokens: int) -> dict:
    return {"id": f"s-{window}-{at}", "window_id": window, "created_at": at, "prompt_tokens": tokens}


def test_first_and_last_minute_and_the_peak() -> None:
    rows = [solid("a", 0, 900), solid("b", 30, 1100), solid("c", 200, 2500), solid("d", 590, 1800),
            solid("e", 600, 2000), solid("e", 600, 2000)]  # a shared narration's copy counts once
    t = prompt_trend.trend(rows, budget=3000)
    assert t["first_minute"] == {"syntheses": 2, "mean": 1000.0, "max": 1100}
    assert t["last_minute"] == {"syntheses": 2, "mean": 1900.0, "max": 2000}
    assert (t["max"], t["within_budget"]) == (2500, True)
    assert "within budget" in prompt_trend.describe(t)
    assert prompt_trend.trend(rows, budget=2000)["within_budget"] is False


def test_an_empty_run() -> None:
    t = prompt_trend.trend([], budget=3000)
    assert (t["max"], t["within_budget"], t["first_minute"]["syntheses"]) == (None, None, 0)
