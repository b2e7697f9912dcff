"""Every rule a Medium's result causes, as one pure function (DESIGN §4½).

``plan(snapshot, result, now)`` decides, without I/O:

* the outcome row (when the window carried an action) and the solid(s);
* which committed liquid rows resolve;
* interrupts: which open windows are cancelled, and the interrupt windows that replace them
  (taking over their committed liquid);
* perceive windows for idle characters the outcome involved, and their duration;
* the frame clock advance;
* the audience of every realtime event, in the order the events are appended.

The snapshot is read under the frame row lock in the same transaction that applies the plan
(``Store.route``), so the plan can never act on a stale view of open windows. The SQL side
(``medium_apply_v2``) writes exactly the rows the plan names: it decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from synthesis.jsonsafe import jsonable as jsonable
from synthesis.jsonsafe import shallow
from synthesis.route_rows import Event as Event
from synthesis.route_rows import LiquidMove as LiquidMove
from synthesis.route_rows import NewWindow as NewWindow
from synthesis.route_rows import OutcomeRow as OutcomeRow
from synthesis.route_rows import SolidRow as SolidRow
from synthesis.route_rows import _Events as _Events
from synthesis.route_rows import new_id as new_id
from synthesis.timing import PSCALE_GAME_SECONDS, clamp_pscale, perceive_seconds
from synthesis.types import MediumOutput, Mode

OPEN, CLAIMED, DONE, CANCELLED = "open", "claimed", "done", "cancelled"


# --- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRef:
    id: UUID
    character_id: UUID
    status: str
    trigger_mode: str
    pscale: int
    game_clock_at_open: int = 0
    scope: str = "character"  # frame: shared mode's one window (timing.commit_decision)


@dataclass(frozen=True)
class RouteSnapshot:
    """What routing needs, read under the frame lock (``medium_route_snapshot_v2``)."""

    frame_id: UUID
    mode: str
    perceive: bool
    perceive_seconds: float
    clock_seconds: int
    window: WindowRef
    users: Mapping[UUID, UUID | None]  # character id -> its user (None: an NPC)
    open_windows: Mapping[UUID, WindowRef]  # character id -> its open window
    committed: Mapping[UUID, tuple[UUID, ...]]  # window id -> its committed liquid ids
    participants: tuple[UUID, ...] = ()  # shared mode: every player of the frame
    liquid_owner: Mapping[UUID, UUID] = field(default_factory=dict)  # liquid id -> its character
    existing_outcome_id: UUID | None = None
    existing_solid_id: UUID | None = None
    review: bool = False  # the GM holds outcomes for review (synthesis/review.py)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RouteSnapshot:
        f, w = doc["frame"], doc["window"]
        committed: dict[UUID, list[UUID]] = {}
        owners: dict[UUID, UUID] = {}
        for row in doc.get("committed") or []:
            committed.setdefault(UUID(row["window_id"]), []).append(UUID(row["id"]))
            if row.get("character_id"):
                owners[UUID(row["id"])] = UUID(str(row["character_id"]))
        window = _window(w)
        return cls(
            frame_id=UUID(str(f["id"])), mode=shared_narration(f["mode"], window.scope),
            perceive=bool(f["perceive"]),
            perceive_seconds=float(f.get("perceive_seconds") or 0.0),
            clock_seconds=int(f["clock_seconds"]), window=window,
            users={UUID(c["id"]): UUID(c["user_id"]) if c.get("user_id") else None
                   for c in doc.get("characters") or []},
            open_windows={ref.character_id: ref for ref in map(_window, doc.get("open_windows") or [])},
            committed={k: tuple(v) for k, v in committed.items()},
            participants=tuple(UUID(str(u)) for u in doc.get("participants") or []),
            liquid_owner=owners,
            existing_outcome_id=_uuid(doc.get("outcome_id")),
            existing_solid_id=_uuid(doc.get("solid_id")),
            review=bool(f.get("review")),
        )

    def audience(self, character_id: UUID) -> tuple[UUID, ...]:
        """A character's private events: its user; an NPC's reach nobody but the GM."""
        user = self.users.get(character_id)
        return (user,) if user is not None else ()

    def coalesced(self) -> tuple[UUID, ...]:
        """The characters whose actions the routed window resolves: its own character, then,
        in a frame-level window (shared mode), everyone whose commit joined it."""
        w = self.window
        owners = (self.liquid_owner.get(lid, w.character_id) for lid in self.committed.get(w.id, ()))
        return tuple(dict.fromkeys([w.character_id, *owners]))


def shared_narration(mode: str, scope: str) -> Mode:
    """The mode a window is narrated in: ``shared`` in a shared frame, and for a frame-level
    window whatever the frame's mode is now (its commits coalesced under shared mode, so one
    Medium resolves them together even if the GM switched the frame back to personal)."""
    return "shared" if mode == "shared" or scope == "frame" else "personal"


def _uuid(value: Any) -> UUID | None:
    return UUID(str(value)) if value else None


def _window(w: Mapping[str, Any]) -> WindowRef:
    return WindowRef(id=UUID(str(w["id"])), character_id=UUID(str(w["character_id"])),
                     status=w["status"], trigger_mode=w["trigger_mode"], pscale=int(w["pscale"]),
                     game_clock_at_open=int(w.get("game_clock_at_open") or 0),
                     scope=str(w.get("scope") or "character"))


# --- what the Medium produced -------------------------------------------------------------------


@dataclass(frozen=True)
class MediumResult:
    """A parsed Medium output plus the bookkeeping its solid records."""

    output: MediumOutput
    source_liquid_ids: tuple[UUID, ...] = ()
    incorporated_through: int = 0
    summarised: tuple[UUID, ...] = ()
    directive: str = ""
    model: str = ""
    narrator: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutePlan:
    window_id: UUID
    routed: bool  # False: the window was already routed or cancelled; the plan writes nothing
    now: datetime
    outcome: OutcomeRow | None = None
    solids: tuple[SolidRow, ...] = ()
    resolve_liquid: tuple[UUID, ...] = ()
    cancel_windows: tuple[UUID, ...] = ()
    open_windows: tuple[NewWindow, ...] = ()
    move_liquid: tuple[LiquidMove, ...] = ()
    clock_seconds: int | None = None  # the new frame clock, None when unchanged
    events: tuple[Event, ...] = ()
    interrupted: tuple[dict[str, Any], ...] = ()  # {character_id, window_id, cancelled_window_id}
    perceive: tuple[dict[str, Any], ...] = ()  # {character_id, window_id}
    status: str = DONE
    existing_outcome_id: UUID | None = None
    existing_solid_id: UUID | None = None
    held: bool = False  # the outcome and its solid wait for the GM's review

    def to_json(self) -> dict[str, Any]:
        """The plan as ``medium_apply_v2`` reads it (JSON-safe: UUIDs and datetimes as text)."""
        doc: dict[str, Any] = jsonable({
            "window_id": self.window_id, "now": self.now,
            "outcomes": [shallow(self.outcome)] if self.outcome else [],
            "solids": [shallow(s) for s in self.solids],
            "resolve_liquid": list(self.resolve_liquid),
            "cancel_windows": list(self.cancel_windows),
            "open_windows": [shallow(w) for w in self.open_windows],
            "move_liquid": [shallow(m) for m in self.move_liquid],
            "clock_seconds": self.clock_seconds,
            "events": [{"type": e.type, "ref_id": e.ref_id,
                        "audience": None if e.audience is None else list(e.audience)}
                       for e in self.events],
        })
        return doc

    def summary(self) -> dict[str, Any]:
        """What the caller learns: ids written, windows opened (the worker wakes for them)."""
        return {"routed": self.routed, "status": self.status,
                "outcome_id": str(self.outcome.id) if self.outcome else _str(self.existing_outcome_id),
                "solid_id": str(self.solids[0].id) if self.solids else _str(self.existing_solid_id),
                "interrupted": [jsonable(i) for i in self.interrupted],
                "perceive": [jsonable(p) for p in self.perceive],
                "game_clock": self.clock_seconds}


def _str(value: UUID | None) -> str | None:
    return str(value) if value else None


def game_clock_after(snapshot: RouteSnapshot) -> int:
    """Game time advances with resolved windows, never backwards (DESIGN §3)."""
    w = snapshot.window
    return max(snapshot.clock_seconds, w.game_clock_at_open + PSCALE_GAME_SECONDS[clamp_pscale(w.pscale)])


def plan(snapshot: RouteSnapshot, result: MediumResult, now: datetime, *,
         time_scale: float = 1.0, ids: Any = new_id) -> RoutePlan:
    """Everything one Medium's result causes. Pure: ``ids`` makes the new row ids (tests pass
    a deterministic generator). A window already done or cancelled yields a no-op plan.

    Shared mode (a shared frame or a frame-level window): the one outcome resolves the actions
    of every character whose commit joined the window (``RouteSnapshot.coalesced``), all of
    them are involved in it and none is interrupted by it, and the one solid goes to every
    participant. Each resolved liquid is announced to its own character's user.

    Review (``snapshot.review``): an outcome and the solid written with it are held for the GM
    (``held``): their events reach the GM only, and what the outcome causes (interrupts,
    perceive windows) waits for the release (``synthesis/review.py`` calls ``consequences``
    then)."""
    w = snapshot.window
    if w.status in (DONE, CANCELLED):
        return RoutePlan(window_id=w.id, routed=False, now=now, status=w.status,
                         existing_outcome_id=snapshot.existing_outcome_id,
                         existing_solid_id=snapshot.existing_solid_id)
    out = result.output
    me = w.character_id
    shared = snapshot.mode == "shared"
    resolving = snapshot.coalesced()
    clock = game_clock_after(snapshot)
    events = _Events()
    private = snapshot.audience(me)

    held = snapshot.review and out.outcome is not None
    outcome = None
    if out.outcome is not None:
        o = out.outcome
        outcome_id = ids()
        outcome = OutcomeRow(
            id=outcome_id, window_id=w.id, seq_offset=events.add("outcome", outcome_id, () if held else None),
            source_character_id=me,
            actions_resolved=[a.model_dump(mode="json") for a in o.actions_resolved],
            world_facts=list(o.world_facts),
            characters_involved=list(dict.fromkeys(
                c for c in [*(resolving if shared else ()), *o.characters_involved] if c in snapshot.users)),
            interrupts=[i.model_dump(mode="json") for i in o.interrupts],
            pscale=w.pscale, game_clock=clock, narrator=result.narrator, created_at=now,
            redacted=out.redacted)

    participants = sorted(set(snapshot.participants), key=str) if shared else []
    solid_id = ids()
    solid = SolidRow(
        id=solid_id, window_id=w.id,
        seq_offset=events.add("narrative", solid_id, () if held else (participants or private)),
        character_id=me, user_id=snapshot.users.get(me), narrative=out.narrative,
        outcome_ids=[*dict.fromkeys(out.outcomes_incorporated), *([outcome.id] if outcome else [])],
        source_liquid_ids=list(result.source_liquid_ids), participant_user_ids=participants,
        trigger_mode=w.trigger_mode, synthesis_pscale=w.pscale,
        incorporated_through=result.incorporated_through, game_clock=clock,
        directive=result.directive, model=result.model, narrator=result.narrator,
        summarised=list(result.summarised), prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens, llm_ms=round(result.llm_ms, 3), created_at=now)

    resolve = snapshot.committed.get(w.id, ())
    for liquid_id in resolve:
        events.add("liquid", liquid_id, snapshot.audience(snapshot.liquid_owner.get(liquid_id, me)))
    events.add("timer", w.id, None if w.scope == "frame" else private)  # frame-level: every member's

    effects = Consequences()
    if outcome is not None and out.outcome is not None and not held:
        effects = consequences(snapshot, [(i.target_character_id, i.reason) for i in out.outcome.interrupts],
                               outcome.characters_involved, resolving, clock, now, events,
                               time_scale=time_scale, ids=ids)

    new_clock = clock if clock != snapshot.clock_seconds else None
    if new_clock is not None:
        events.add("frame", snapshot.frame_id, None)
    return RoutePlan(
        window_id=w.id, routed=True, now=now, outcome=outcome, solids=(solid,),
        resolve_liquid=tuple(resolve), cancel_windows=tuple(effects.cancel),
        open_windows=tuple(effects.opened), move_liquid=tuple(effects.moves), clock_seconds=new_clock,
        events=tuple(events.items), interrupted=tuple(effects.interrupted),
        perceive=tuple(effects.perceived), held=held)


@dataclass
class Consequences:
    """What an outcome causes beyond itself: interrupted windows and their replacements, and
    perceive windows for the idle characters it involved."""

    cancel: list[UUID] = field(default_factory=list)
    opened: list[NewWindow] = field(default_factory=list)
    moves: list[LiquidMove] = field(default_factory=list)
    interrupted: list[dict[str, Any]] = field(default_factory=list)
    perceived: list[dict[str, Any]] = field(default_factory=list)


def consequences(snapshot: RouteSnapshot, interrupts: list[tuple[UUID, str]], involved: Iterable[UUID],
                 resolving: tuple[UUID, ...], clock: int, now: datetime, events: _Events, *,
                 time_scale: float = 1.0, ids: Any = new_id) -> Consequences:
    """What one outcome of ``snapshot.window``'s character causes: each interrupt target's open
    window is cancelled and an interrupt window due now takes over its committed liquid (a
    target with none is woken too); each idle involved character gets a perceive window
    (personal mode, perceive on). Their timer events are appended to ``events``."""
    w = snapshot.window
    me = w.character_id
    fx = Consequences()
    targets = sorted({t for t, _ in interrupts if t not in resolving and t in snapshot.users}, key=str)
    reasons = {t: r for t, r in reversed(interrupts)}
    for target in targets:
        audience = snapshot.audience(target)
        old = snapshot.open_windows.get(target)
        nw = NewWindow(id=ids(), character_id=target, trigger_mode="interrupt",
                       pscale=old.pscale if old else w.pscale, opened_at=now, due_at=now,
                       game_clock_at_open=old.game_clock_at_open if old else clock,
                       interrupt_reason=reasons.get(target), interrupt_source_id=me)
        fx.opened.append(nw)
        if old is not None:
            fx.cancel.append(old.id)
            fx.moves += [LiquidMove(lid, nw.id, now) for lid in snapshot.committed.get(old.id, ())]
            events.add("timer", old.id, audience)
        events.add("timer", nw.id, audience)
        fx.interrupted.append({"character_id": target, "window_id": nw.id,
                               "cancelled_window_id": old.id if old else None})

    if snapshot.perceive and snapshot.mode == "personal":
        seconds = perceive_seconds(snapshot.perceive_seconds, time_scale=time_scale)
        for cid in sorted(set(involved) - {me, *targets}, key=str):
            if cid in snapshot.open_windows:
                continue  # it will narrate this outcome when its own window closes
            pw = NewWindow(id=ids(), character_id=cid, trigger_mode="perceive", pscale=w.pscale,
                           opened_at=now, due_at=now + timedelta(seconds=seconds),
                           game_clock_at_open=clock)
            fx.opened.append(pw)
            events.add("timer", pw.id, snapshot.audience(cid))
            fx.perceived.append({"character_id": cid, "window_id": pw.id})
    return fx
