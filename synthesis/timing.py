"""pscale → window and game time (DESIGN §3), and the commit decision. Pure functions of
their arguments: no I/O, and ``now`` is always a parameter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

# Default real-time window per pscale, in seconds.
PSCALE_WINDOW_SECONDS: dict[int, float] = {-3: 4.0, -2: 5.0, -1: 15.0, 0: 60.0, 1: 300.0, 2: 900.0}
# In-fiction seconds one action of this pscale takes (mirrors SQL medium_game_seconds).
PSCALE_GAME_SECONDS: dict[int, int] = {-3: 1, -2: 10, -1: 60, 0: 420, 1: 3600, 2: 86400}
PSCALE_LABEL: dict[int, str] = {
    -3: "~1 second", -2: "~10 seconds", -1: "~1 minute", 0: "~5-10 minutes", 1: "~1 hour",
    2: "~1 day",
}
MIN_WINDOW_SECONDS = 0.001
# A perceive window (an idle character narrating what happened around it) is short: a few real
# seconds, scaled like every window, not the full pscale window of the outcome that caused it.
DEFAULT_PERCEIVE_SECONDS = 3.0


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


def perceive_seconds(frame_seconds: float | None, *, time_scale: float = 1.0) -> float:
    """Real seconds of a perceive window: the frame's setting (default 3 s), time-scaled."""
    base = DEFAULT_PERCEIVE_SECONDS if frame_seconds is None or frame_seconds <= 0 else float(frame_seconds)
    return max(MIN_WINDOW_SECONDS, base * time_scale)


@dataclass(frozen=True)
class OpenWindowRef:
    id: UUID
    due_at: datetime


@dataclass(frozen=True)
class CommitDecision:
    """What committing one liquid does: join an open window, or open one.

    ``window_id`` is the window the liquid joins (existing or new); ``opens`` is True when the
    window is new, with its trigger, due time and scope (``character``: this character's own
    timer; ``frame``: shared mode's one window, which every character's commits join). Later
    commits never move an open window's expiry (DESIGN §1 'window')."""

    window_id: UUID
    opens: bool
    trigger_mode: str
    due_at: datetime
    pscale: int
    game_clock_at_open: int
    scope: str = "character"


def commit_decision(*, mode: str, pscale: int, timer_duration: float, clock_seconds: int,
                    open_window: OpenWindowRef | None, now: datetime, new_id: UUID,
                    frame_window: OpenWindowRef | None = None) -> CommitDecision:
    """Personal mode: the character's first commit opens its window, due after the liquid's
    timer; its later commits join it.

    Shared mode (one Medium for the frame): the first commit of anyone opens the frame-level
    window (trigger ``commit``), due after that liquid's timer; every commit within it, by any
    character, joins it, and one Medium resolves them all when it closes. ``frame_window`` is
    the frame's open frame-level window. A character that still has an open window of its own
    (opened before the GM switched the frame to shared) joins that one, since a character has
    at most one open window."""
    def join(w: OpenWindowRef, scope: str) -> CommitDecision:
        return CommitDecision(window_id=w.id, opens=False, trigger_mode="expiry", due_at=w.due_at,
                              pscale=pscale, game_clock_at_open=clock_seconds, scope=scope)

    due = now + timedelta(seconds=timer_duration)
    if mode == "shared":
        if frame_window is not None:
            return join(frame_window, "frame")
        if open_window is not None:
            return join(open_window, "character")
        return CommitDecision(window_id=new_id, opens=True, trigger_mode="commit", due_at=due,
                              pscale=pscale, game_clock_at_open=clock_seconds, scope="frame")
    if open_window is not None:
        return join(open_window, "character")
    return CommitDecision(window_id=new_id, opens=True, trigger_mode="expiry", due_at=due,
                          pscale=pscale, game_clock_at_open=clock_seconds)


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
