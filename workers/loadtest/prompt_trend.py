"""Prompt tokens per synthesis over a run (issue 16, item 8): whether long play stays within the
prompt budget. ``prompt_tokens`` is what the provider reported for the window's calls (the
scripted narrator reports the budget's estimate, 4 characters a token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MINUTE = 60.0


def _stats(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"syntheses": 0, "mean": None, "max": None}
    return {"syntheses": len(values), "mean": round(sum(values) / len(values), 1), "max": max(values)}


def trend(solids: Iterable[dict[str, Any]], *, budget: int | None = None) -> dict[str, Any]:
    """``{first_minute, last_minute, max, budget, within_budget}`` over one solid per window
    (a shared narration's copies count once)."""
    seen: dict[str, tuple[float, int]] = {}
    for s in solids:
        key = str(s.get("window_id") or s["id"])
        seen.setdefault(key, (float(s["created_at"]), int(s["prompt_tokens"])))
    rows = sorted(seen.values())
    if not rows:
        return {"first_minute": _stats([]), "last_minute": _stats([]), "max": None, "budget": budget,
                "within_budget": None}
    start, end = rows[0][0], rows[-1][0]
    peak = max(t for _, t in rows)
    return {
        "first_minute": _stats([t for at, t in rows if at < start + MINUTE]),
        "last_minute": _stats([t for at, t in rows if at > end - MINUTE]),
        "max": peak, "budget": budget,
        "within_budget": None if budget is None else peak <= budget,
    }


def describe(doc: dict[str, Any]) -> str:
    first, last = doc["first_minute"], doc["last_minute"]
    within = "" if doc["within_budget"] is None else (" (within budget)" if doc["within_budget"] else " (OVER BUDGET)")
    return (f"prompt tokens per synthesis: first minute mean {first['mean']} (max {first['max']}), "
            f"last minute mean {last['mean']} (max {last['max']}), max {doc['max']} of {doc['budget']}{within}")
