"""pscale → window and game time (DESIGN §3). Pure functions of their arguments."""

from __future__ import annotations

from collections.abc import Mapping

# Default real-time window per pscale, in seconds.
PSCALE_WINDOW_SECONDS: dict[int, float] = {-3: 4.0, -2: 5.0, -1: 15.0, 0: 60.0, 1: 300.0, 2: 900.0}
# In-fiction seconds one action of this pscale takes (mirrors SQL medium_game_seconds).
PSCALE_GAME_SECONDS: dict[int, int] = {-3: 1, -2: 10, -1: 60, 0: 420, 1: 3600, 2: 86400}
PSCALE_LABEL: dict[int, str] = {
    -3: "~1 second", -2: "~10 seconds", -1: "~1 minute", 0: "~5-10 minutes", 1: "~1 hour",
    2: "~1 day",
}
MIN_WINDOW_SECONDS = 0.001


def clamp_pscale(p: int) -> int:
    return max(-3, min(2, int(p)))


def window_seconds(pscale: int, *, overrides: Mapping[str, float] | Mapping[int, float] | None = None,
                   time_scale: float = 1.0) -> float:
    """Real seconds of a window for ``pscale``: the frame override or the §3 default, times the
    global time scale (which speeds everything up for tests and simulations)."""
    base = PSCALE_WINDOW_SECONDS[clamp_pscale(pscale)]
    if overrides:
        for key in (pscale, str(pscale)):
            if key in overrides:
                base = float(overrides[key])  # type: ignore[index]
                break
    return max(MIN_WINDOW_SECONDS, base * time_scale)


def format_game_clock(seconds: int) -> str:
    """In-fiction elapsed time as 'day 1, 00:10:30'."""
    days, rem = divmod(int(seconds), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"day {days + 1}, {h:02d}:{m:02d}:{s:02d}"


def sleep_for(now_ts: float, next_due_ts: float | None, *, poll_interval: float) -> float:
    """How long a worker may sleep: until the earliest known due moment, never longer than the
    poll fallback, never negative. Pure function of (now, next_due)."""
    if next_due_ts is None:
        return poll_interval
    return max(0.0, min(poll_interval, next_due_ts - now_ts))


def retry_backoff(attempts: int, *, base: float = 1.0, cap: float = 30.0) -> float:
    """Seconds before a failed synthesis is retried: base·2^(attempts-1), capped."""
    return float(min(cap, base * 2.0 ** max(0, attempts - 1)))
