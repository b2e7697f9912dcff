"""The GM's pacing rules (issue 15, item 1), pure like ``route.plan`` (DESIGN §4½).

A frame is paused or running. While it is paused its clock stops, its open windows are frozen
and nothing synthesizes (workers claim nothing in a paused frame). Each open window's frozen
remainder is ``paused_remaining``: on resume it is due exactly that long after the resume. A
window opened while the frame was paused (a commit queued during the pause, or a perceive or
interrupt window routed by a synthesis already in flight) has lost no time: its remainder is
what it had from the later of its opening and the pause.

Every function takes a ``PaceSnapshot`` read under the frame lock and ``now``, and returns a
``GmPlan`` that ``medium_gm_apply_v1`` writes as it is; a request that makes no sense for the
current state (resume a running frame, resolve a window that is not open) raises ``Conflict``
naming the field, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from synthesis.errors import Conflict, Forbidden, InvalidInput, NotFound
from synthesis.route import Event, jsonable
from synthesis.types import Window

MAX_EXTEND_SECONDS = 86400.0


@dataclass(frozen=True)
class PaceSnapshot:
    """What a pacing decision needs: the frame's pause state, its open windows, and who plays
    each character (the audience of its timer events)."""

    frame_id: UUID
    paused_at: datetime | None
    windows: Sequence[Window]  # the frame's open windows
    users: Mapping[UUID, UUID | None]  # character id -> its user (None: an NPC)
    clock_seconds: int = 0  # the frame clock (GM narration is dated by it)
    perceive_seconds: float | None = None  # the frame's perceive window, before the time scale
    mode: str = "personal"  # the frame's mode

    def audience(self, character_id: UUID) -> tuple[UUID, ...]:
        user = self.users.get(character_id)
        return (user,) if user is not None else ()

    def window(self, window_id: UUID) -> Window:
        for w in self.windows:
            if w.id == window_id:
                return w
        raise Conflict("window is not open", field="window_id")


@dataclass(frozen=True)
class WindowChange:
    id: UUID
    due_at: datetime
    paused_remaining: float | None


@dataclass(frozen=True)
class GmPlan:
    """Rows a GM action writes (``medium_gm_apply_v1``). ``set_paused``: the frame's
    ``paused_at`` becomes ``paused_at`` (None: running again)."""

    frame_id: UUID
    now: datetime
    set_paused: bool = False
    paused_at: datetime | None = None
    windows: tuple[WindowChange, ...] = ()
    outcomes: tuple[dict[str, Any], ...] = ()
    open_windows: tuple[dict[str, Any], ...] = ()
    events: tuple[Event, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # what the caller reports back

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = jsonable({
            "now": self.now, "set_paused": self.set_paused, "paused_at": self.paused_at,
            "windows": [asdict(w) for w in self.windows], "outcomes": list(self.outcomes),
            "open_windows": list(self.open_windows),
            "events": [{"type": e.type, "ref_id": e.ref_id,
                        "audience": None if e.audience is None else list(e.audience)}
                       for e in self.events]})
        return doc


def seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())


def after(when: datetime, secs: float) -> datetime:
    """``when`` plus ``secs``, to the microsecond (the precision both sides store)."""
    return when + timedelta(microseconds=round(secs * 1_000_000))


def remaining(w: Window, paused_at: datetime | None, now: datetime) -> float:
    """The real seconds ``w`` has left: frozen while its frame is paused, else until due."""
    if paused_at is None:
        return seconds(w.due_at - now)
    if w.paused_remaining is not None:
        return w.paused_remaining
    return seconds(w.due_at - max(w.opened_at, paused_at))


def queued_remaining(paused_at: datetime | None, opened: Mapping[str, Any] | None) -> float | None:
    """A window a commit opens while its frame is paused (``opened``: the commit plan's new
    window) is frozen with its whole time; None when the frame runs or no window opened."""
    if paused_at is None or not opened:
        return None
    return seconds(_when(opened["due_at"]) - _when(opened["opened_at"]))


def opened_while_paused(paused_at: Any, opened: Iterable[Any]) -> list[tuple[UUID, float]]:
    """The windows a routed plan opens (``route.NewWindow``) in a paused frame, each frozen
    with its whole time: a synthesis already in flight when the GM paused finishes, and what
    it causes (interrupt and perceive windows) waits for the resume. Empty when running."""
    if not paused_at:
        return []
    return [(w.id, seconds(w.due_at - w.opened_at)) for w in opened]


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _timer_events(snap: PaceSnapshot, windows: Iterable[Window]) -> list[Event]:
    """A window's timer event reaches its character's user; a frame-level window's (shared
    mode) every member, as route.plan sends it."""
    return [Event("timer", w.id, None if w.scope == "frame" else snap.audience(w.character_id)) for w in windows]


def pause(snap: PaceSnapshot, now: datetime) -> GmPlan:
    """Stop the frame's clock: every open window keeps the time it has left."""
    if snap.paused_at is not None:
        raise Conflict("the frame is already paused", field="paused")
    changes = tuple(WindowChange(w.id, w.due_at, remaining(w, None, now)) for w in snap.windows)
    events = (Event("frame", snap.frame_id, None), *_timer_events(snap, snap.windows))
    return GmPlan(snap.frame_id, now, set_paused=True, paused_at=now, windows=changes, events=events)


def resume(snap: PaceSnapshot, now: datetime) -> GmPlan:
    """Start the clock again: each open window is due the time it had left after ``now``."""
    if snap.paused_at is None:
        raise Conflict("the frame is not paused", field="paused")
    changes = tuple(WindowChange(w.id, after(now, remaining(w, snap.paused_at, now)), None)
                    for w in snap.windows)
    events = (Event("frame", snap.frame_id, None), *_timer_events(snap, snap.windows))
    return GmPlan(snap.frame_id, now, set_paused=True, paused_at=None, windows=changes, events=events)


def resolve(snap: PaceSnapshot, window_id: UUID, now: datetime) -> GmPlan:
    """Close one open window now: it is due at once (in a paused frame: at the resume)."""
    w = snap.window(window_id)
    change = (WindowChange(w.id, now, 0.0) if snap.paused_at is not None
              else WindowChange(w.id, min(w.due_at, now), None))
    return GmPlan(snap.frame_id, now, windows=(change,), events=tuple(_timer_events(snap, [w])))


def extend(snap: PaceSnapshot, window_id: UUID, secs: float, now: datetime) -> GmPlan:
    """Give one open window ``secs`` more real seconds (from now, if it is already due)."""
    if not 0 < secs <= MAX_EXTEND_SECONDS:
        raise InvalidInput(f"seconds must be more than 0 and at most {MAX_EXTEND_SECONDS:g}", field="seconds")
    w = snap.window(window_id)
    if snap.paused_at is not None:
        change = WindowChange(w.id, w.due_at, remaining(w, snap.paused_at, now) + secs)
    else:
        change = WindowChange(w.id, after(max(w.due_at, now), secs), None)
    return GmPlan(snap.frame_id, now, windows=(change,), events=tuple(_timer_events(snap, [w])))


def ready(snap: PaceSnapshot, user_id: UUID, character_id: UUID | None, now: datetime) -> GmPlan:
    """A player is done: close its own character's open window now. ``character_id`` picks
    one when the player has several open windows."""
    mine = [w for w in snap.windows if snap.users.get(w.character_id) == user_id]
    if character_id is not None:
        if snap.users.get(character_id) != user_id:
            if character_id in snap.users:
                raise Forbidden("you do not play this character", field="character_id")
            raise NotFound("character not found", field="character_id")
        mine = [w for w in mine if w.character_id == character_id]
    if not mine:
        raise Conflict("you have no open window", field="character_id")
    if len(mine) > 1:
        raise Conflict("you have several open windows: name the character", field="character_id")
    return resolve(snap, mine[0].id, now)
