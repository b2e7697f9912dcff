"""Build one Medium's input from a gather snapshot (``store.gather``, one statement).

Pure: a function of the snapshot document. Context is bounded: when more unincorporated
outcomes exist than ``outcome_budget``, the oldest are folded into a one-line-each summary
(capped), and their ids are recorded as summarised; nothing is dropped silently.

A shared narration (``route.shared_narration``: a shared frame, or shared mode's frame-level
window) resolves every action committed into its window, whoever committed it, and reads only
shared narratives: a participant's personal solid never reaches a shared prompt, even one
written before the GM switched the frame to shared. Another character's committed action whose
window failed is shown as stalled, not as an action resolving with this one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from synthesis import knowledge, route
from synthesis.types import (
    ActionView,
    Affiliation,
    Character,
    Frame,
    LiquidEntry,
    MediumInput,
    Membership,
    OutcomeRow,
    OutcomeView,
    Window,
)

OUTCOME_BUDGET = 12
SUMMARY_LINES = 40
STALLED = "stalled"  # an action's status in a prompt when the window holding it failed


def _action(liq: LiquidEntry, chars: dict[UUID, Character], *, status: str | None = None) -> ActionView:
    ch = chars[liq.character_id]
    return ActionView(
        liquid_id=liq.id, character_id=liq.character_id, handle=ch.handle, name=ch.name,
        text=liq.refined_text or liq.content, pscale=liq.pscale, status=status or liq.status,
        interruptive=liq.interruptive,
        interrupt_targets=[chars[t].handle for t in liq.interrupt_targets if t in chars],
    )


def outcome_view(o: OutcomeRow, chars: dict[UUID, Character]) -> OutcomeView:
    def handle(cid: Any) -> str:
        try:
            return chars[UUID(str(cid))].handle
        except (KeyError, ValueError):
            return "unknown"

    return OutcomeView(
        outcome_id=o.id, seq=o.seq,
        source_handle="gm" if o.source == "gm" else handle(o.source_character_id),
        actions=[{"handle": handle(a.get("character_id")), "action": str(a.get("action", "")),
                  "result": str(a.get("result", ""))} for a in o.actions_resolved],
        world_facts=list(o.world_facts),
        interrupts=[{"target": handle(i.get("target_character_id")), "reason": str(i.get("reason", ""))}
                    for i in o.interrupts],
        game_clock=o.game_clock, narration=o.narration or "",
    )


def summarise(views: list[OutcomeView]) -> str:
    lines = []
    for v in views[-SUMMARY_LINES:]:
        acts = "; ".join(f"{a['handle']} {a['action']} ({a['result']})" for a in v.actions)
        if v.narration and not acts:
            acts = "the GM narrates: " + " ".join(v.narration.split())[:200]
        lines.append(f"#{v.seq} {acts}" if acts else f"#{v.seq} (no actions)")
    dropped = len(views) - len(lines)
    if dropped > 0:
        lines.insert(0, f"({dropped} earlier outcomes happened before these)")
    return "\n".join(lines)


def build_medium_input(doc: dict[str, Any], *, outcome_budget: int = OUTCOME_BUDGET) -> MediumInput:
    frame = Frame.model_validate(doc["frame"])
    chars = {c.id: c for c in (Character.model_validate(c) for c in doc["characters"])}
    affs = [Affiliation.model_validate(a) for a in doc["affiliations"]]
    members = [Membership.model_validate(m) for m in doc["memberships"]]
    window = Window.model_validate(doc["window"]) if doc.get("window") else None
    me = chars[UUID(str(doc["character_id"]))]
    mode = route.shared_narration(frame.mode, window.scope if window else "character")

    # This window's committed liquid: the character's own, and in a frame-level window every
    # character's that joined it (one Medium resolves them all).
    mine = [LiquidEntry.model_validate(x) for x in doc["my_liquid"]]
    mine = [x for x in mine if x.character_id in chars and (mode == "shared" or x.character_id == me.id)]
    pscale = window.pscale if window else (mine[0].pscale if mine else -1)
    same, higher, other, stalled = [], [], [], []
    for x in doc["open_liquid"]:
        liq = LiquidEntry.model_validate(x)
        if liq.character_id not in chars or (window is not None and liq.window_id == window.id):
            continue
        if liq.status == "committed" and x.get("window_status") == "failed":
            stalled.append(_action(liq, chars, status=STALLED))
            continue
        view = _action(liq, chars)
        if liq.pscale == pscale and liq.status == "committed":
            same.append(view)
        elif liq.pscale > pscale:
            higher.append(view)
        else:
            other.append(view)

    # An outcome written by this character's own window was incorporated by the solid routed
    # with it (same transaction), although its seq lies past that solid's snapshot
    # (incorporated_through): re-presenting it would narrate the same action twice.
    # An outcome the GM holds for review is not committed for anyone else yet: on release it
    # takes a new cursor, so this Medium's next gather has it (synthesis/review.py).
    rows = [r for r in (OutcomeRow.model_validate(o) for o in doc["outcomes"]) if not r.held]
    outcomes = [outcome_view(o, chars) for o in rows if o.source_character_id != me.id]
    older, recent = (outcomes[:-outcome_budget], outcomes[-outcome_budget:]) if outcome_budget else (outcomes, [])

    if mode == "shared":
        know = knowledge.public_knowledge(chars.values(), affs, members, narrator_for=me)
    else:
        know = knowledge.build_knowledge(me.id, chars.values(), affs, members)

    source = None
    if window and window.interrupt_source_id and window.interrupt_source_id in chars:
        source = chars[window.interrupt_source_id].handle
    return MediumInput(
        frame_id=frame.id, window_id=window.id if window else UUID(int=0), character_id=me.id,
        handle=me.handle, trigger_mode=window.trigger_mode if window else "expiry", pscale=pscale,
        mode=mode, my_action=[_action(x, chars) for x in mine],
        same_pscale_actions=same, stalled_actions=stalled, resolved_outcomes=recent,
        history_summary=summarise(older) if older else "",
        summarised_outcome_ids=[v.outcome_id for v in older],
        pending_higher_pscale=higher, pending_other=other,
        world=frame.world, scenario=frame.scenario,
        content=[str(c.get("body", "")) for c in doc.get("content", [])],
        game_clock=frame.clock_seconds,
        recent_narrative=[str(s["narrative"]) for s in doc.get("recent_solid", [])
                          if mode != "shared" or s.get("shared") is True],
        knowledge=know,
        interrupt_reason=window.interrupt_reason if window else None, interrupt_source=source,
        handles={c.handle: c.id for c in chars.values()},
        incorporated_through=int(doc.get("incorporated_through") or 0),
        snapshot_seq=int(doc.get("snapshot_seq") or 0),
    )
