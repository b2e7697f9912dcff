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

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from synthesis.jsonsafe import jsonable, shallow
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
class Event:
    type: str
    ref_id: UUID
    audience: tuple[UUID, ...] | None  # None: every member of the frame


@dataclass(frozen=True)
class NewWindow:
    id: UUID
    character_id: UUID
    trigger_mode: str
    pscale: int
    opened_at: datetime
    due_at: datetime
    game_clock_at_open: int
    interrupt_reason: str | None = None
    interrupt_source_id: UUID | None = None


@dataclass(frozen=True)
class OutcomeRow:
    id: UUID
    window_id: UUID
    seq_offset: int  # seq = the frame's event_seq before the plan + this
    source_character_id: UUID
    actions_resolved: list[dict[str, Any]]
    world_facts: list[str]
    characters_involved: list[UUID]
    interrupts: list[dict[str, Any]]
    pscale: int
    game_clock: int
    narrator: str
    created_at: datetime
    redacted: int = 0


@dataclass(frozen=True)
class SolidRow:
    id: UUID
    window_id: UUID
    seq_offset: int
    character_id: UUID
    user_id: UUID | None
    narrative: str
    outcome_ids: list[UUID]
    source_liquid_ids: list[UUID]
    participant_user_ids: list[UUID]
    trigger_mode: str
    synthesis_pscale: int
    incorporated_through: int
    game_clock: int
    directive: str
    model: str
    narrator: str
    summarised: list[UUID]
    prompt_tokens: int
    completion_tokens: int
    llm_ms: float
    created_at: datetime


@dataclass(frozen=True)
class LiquidMove:
    id: UUID
    window_id: UUID
    timer_expires_at: datetime


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


@dataclass
class _Events:
    items: list[Event] = field(default_factory=list)

    def add(self, type_: str, ref_id: UUID, audience: Iterable[UUID] | None) -> int:
        """Append; returns the event's 1-based position (its seq offset)."""
        self.items.append(Event(type_, ref_id, None if audience is None else tuple(audience)))
        return len(self.items)


def new_id() -> UUID:
    return uuid.uuid4()


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
    participant. Each resolved liquid is announced to its own character's user."""
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

    outcome = None
    if out.outcome is not None:
        o = out.outcome
        outcome_id = ids()
        outcome = OutcomeRow(
            id=outcome_id, window_id=w.id, seq_offset=events.add("outcome", outcome_id, None),
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
        seq_offset=events.add("narrative", solid_id, participants or private),
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

    cancel: list[UUID] = []
    opened: list[NewWindow] = []
    moves: list[LiquidMove] = []
    interrupted: list[dict[str, Any]] = []
    perceived: list[dict[str, Any]] = []
    if outcome is not None and out.outcome is not None:
        targets = sorted({i.target_character_id for i in out.outcome.interrupts
                          if i.target_character_id not in resolving and i.target_character_id in snapshot.users},
                         key=str)
        reasons = {i.target_character_id: i.reason for i in reversed(out.outcome.interrupts)}
        for target in targets:
            audience = snapshot.audience(target)
            old = snapshot.open_windows.get(target)
            nw = NewWindow(id=ids(), character_id=target, trigger_mode="interrupt",
                           pscale=old.pscale if old else w.pscale, opened_at=now, due_at=now,
                           game_clock_at_open=old.game_clock_at_open if old else clock,
                           interrupt_reason=reasons.get(target), interrupt_source_id=me)
            opened.append(nw)
            if old is not None:
                cancel.append(old.id)
                moves += [LiquidMove(lid, nw.id, now) for lid in snapshot.committed.get(old.id, ())]
                events.add("timer", old.id, audience)
            events.add("timer", nw.id, audience)
            interrupted.append({"character_id": target, "window_id": nw.id,
                                "cancelled_window_id": old.id if old else None})

        if snapshot.perceive and snapshot.mode == "personal":
            seconds = perceive_seconds(snapshot.perceive_seconds, time_scale=time_scale)
            for cid in sorted(set(outcome.characters_involved) - {me, *targets}, key=str):
                if cid in snapshot.open_windows:
                    continue  # it will narrate this outcome when its own window closes
                pw = NewWindow(id=ids(), character_id=cid, trigger_mode="perceive", pscale=w.pscale,
                               opened_at=now, due_at=now + timedelta(seconds=seconds),
                               game_clock_at_open=clock)
                opened.append(pw)
                events.add("timer", pw.id, snapshot.audience(cid))
                perceived.append({"character_id": cid, "window_id": pw.id})

    new_clock = clock if clock != snapshot.clock_seconds else None
    if new_clock is not None:
        events.add("frame", snapshot.frame_id, None)
    return RoutePlan(
        window_id=w.id, routed=True, now=now, outcome=outcome, solids=(solid,),
        resolve_liquid=tuple(resolve), cancel_windows=tuple(cancel), open_windows=tuple(opened),
        move_liquid=tuple(moves), clock_seconds=new_clock, events=tuple(events.items),
        interrupted=tuple(interrupted), perceive=tuple(perceived))
