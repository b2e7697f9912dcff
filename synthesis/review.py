"""Hold for review (issue 15, item 3): the GM approves, edits or rejects a held outcome.

A frame with ``review`` on holds every outcome and the narrative written with it
(``route.plan`` ``held``): nobody but the GM sees them and no Medium gathers them, and what the
outcome causes waits. These pure functions decide what a review does, from a
``ReviewSnapshot`` read under the frame lock; ``medium_review_apply_v1`` writes it.

* ``approve`` (``edit`` is an approve with new ``world_facts`` / ``actions_resolved``): the
  outcome takes the release's cursor as its seq (it was not committed for anyone but the GM
  before, so every Medium's next gather has it, after whatever it already incorporated); its
  narrative reaches its owner; its interrupts and perceive windows happen now
  (``route.consequences``).
* ``reject``: the held rows were never seen, so they go; the window fails visibly ("rejected by
  the GM") with its liquid committed again, and a GM retry narrates it afresh. Either way each
  window ends with exactly one outcome and one narrative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis import route
from synthesis.errors import Conflict, InvalidInput, NotFound
from synthesis.types import RESULTS, OutcomeRow

REJECTED = "rejected by the GM"


@dataclass(frozen=True)
class ReviewSnapshot:
    route: route.RouteSnapshot  # the outcome's window (done) and the frame's open windows
    outcome: OutcomeRow
    solid_id: UUID | None
    solid_audience: tuple[UUID, ...]
    resolved_liquid: Mapping[UUID, UUID]  # the window's resolved liquid -> its character
    paused_at: Any = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ReviewSnapshot:
        if not doc or doc.get("outcome") is None:
            raise NotFound("outcome not found", field="outcome_id")
        outcome = OutcomeRow.model_validate(doc["outcome"])
        if not outcome.held or doc.get("window") is None:
            raise Conflict("the outcome is not held for review", field="outcome_id")
        snap = route.RouteSnapshot.from_doc(doc)
        solid = doc.get("solid") or {}
        participants = tuple(UUID(str(u)) for u in solid.get("participant_user_ids") or [])
        owner = (UUID(str(solid["user_id"])),) if solid.get("user_id") else ()
        resolved = {UUID(str(r["id"])): UUID(str(r["character_id"])) for r in doc.get("resolved") or []}
        return cls(route=snap, outcome=outcome, solid_id=UUID(str(solid["id"])) if solid else None,
                   solid_audience=participants or owner, resolved_liquid=resolved,
                   paused_at=(doc.get("frame") or {}).get("paused_at"))


@dataclass(frozen=True)
class ReviewPlan:
    action: str  # approve | reject
    frame_id: UUID
    outcome_id: UUID
    solid_id: UUID | None
    window_id: UUID
    now: datetime
    events: tuple[route.Event, ...] = ()
    seq_offset: int = 0
    world_facts: list[str] | None = None
    actions_resolved: list[dict[str, Any]] | None = None
    effects: route.Consequences = field(default_factory=route.Consequences)
    recommit_liquid: tuple[UUID, ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = route.jsonable({
            "action": self.action, "outcome_id": self.outcome_id, "solid_id": self.solid_id,
            "window_id": self.window_id, "now": self.now, "seq_offset": self.seq_offset,
            "world_facts": self.world_facts, "actions_resolved": self.actions_resolved,
            "cancel_windows": self.effects.cancel,
            "open_windows": [asdict(w) for w in self.effects.opened],
            "move_liquid": [asdict(m) for m in self.effects.moves],
            "recommit_liquid": list(self.recommit_liquid), "error": REJECTED,
            "events": [{"type": e.type, "ref_id": e.ref_id,
                        "audience": None if e.audience is None else list(e.audience)} for e in self.events]})
        return doc


def check_edit(outcome: OutcomeRow, actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The GM's edited actions: each resolves an action of a character the outcome resolved
    (an outcome resolves only its own window's actions), with a valid result."""
    allowed = {str(a.get("character_id")) for a in outcome.actions_resolved} | {str(outcome.source_character_id)}
    out = []
    for i, a in enumerate(actions):
        if str(a.get("character_id")) not in allowed:
            raise InvalidInput(f"actions_resolved[{i}]: this outcome does not resolve that character's action",
                               field="actions_resolved")
        if a.get("result") not in RESULTS:
            raise InvalidInput(f"actions_resolved[{i}]: result must be one of {', '.join(RESULTS)}",
                               field="actions_resolved")
        out.append({"character_id": str(a["character_id"]), "action": str(a.get("action") or ""),
                    "result": a["result"]})
    return out


def approve(snap: ReviewSnapshot, now: datetime, *, world_facts: Sequence[str] | None = None,
            actions_resolved: Sequence[Mapping[str, Any]] | None = None, time_scale: float = 1.0,
            ids: Any = route.new_id) -> ReviewPlan:
    """Release a held outcome (edited when ``world_facts`` / ``actions_resolved`` are given)."""
    o = snap.outcome
    actions = check_edit(o, actions_resolved) if actions_resolved is not None else None
    events = route._Events()
    seq_offset = events.add("outcome", o.id, None)
    if snap.solid_id is not None:
        events.add("narrative", snap.solid_id, snap.solid_audience)
    # the characters the window resolved (route.RouteSnapshot.coalesced at routing time): its
    # own, and in shared mode everyone whose liquid it resolved; none of them is interrupted
    resolving = tuple(dict.fromkeys([snap.route.window.character_id, *snap.resolved_liquid.values()]))
    interrupts = [(UUID(str(i["target_character_id"])), str(i.get("reason") or "")) for i in o.interrupts]
    fx = route.consequences(snap.route, interrupts, o.characters_involved, resolving, o.game_clock, now,
                            events, time_scale=time_scale, ids=ids)
    return ReviewPlan(action="approve", frame_id=snap.route.frame_id, outcome_id=o.id, solid_id=snap.solid_id,
                      window_id=snap.route.window.id, now=now, events=tuple(events.items), seq_offset=seq_offset,
                      world_facts=[f.strip() for f in world_facts if f.strip()] if world_facts is not None else None,
                      actions_resolved=actions, effects=fx)


def reject(snap: ReviewSnapshot, now: datetime) -> ReviewPlan:
    """Drop a held outcome and its narrative; the window fails visibly, its liquid committed
    again for a retry."""
    w = snap.route.window
    events = route._Events()
    events.add("timer", w.id, snap.route.audience(w.character_id))
    for lid, cid in snap.resolved_liquid.items():
        events.add("liquid", lid, snap.route.audience(cid))
    return ReviewPlan(action="reject", frame_id=snap.route.frame_id, outcome_id=snap.outcome.id,
                      solid_id=snap.solid_id, window_id=w.id, now=now, events=tuple(events.items),
                      recommit_liquid=tuple(snap.resolved_liquid))
