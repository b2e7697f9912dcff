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

from synthesis import budget, knowledge, lore, route
from synthesis.types import (
    ActionView,
    Affiliation,
    Character,
    Frame,
    LiquidEntry,
    LoreEntry,
    MediumInput,
    Membership,
    OutcomeRow,
    OutcomeView,
    RecallView,
    Window,
)
from synthesis.types_epistemic import KnowledgeOverride

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


def _recall_view(r: dict[str, Any], chars: dict[UUID, Character]) -> RecallView:
    if r["kind"] == "outcome":
        view = outcome_view(OutcomeRow.model_validate(r["item"]), chars)
        return RecallView(kind="outcome", seq=r["seq"], outcome=view)
    return RecallView(kind="narrative", seq=r["seq"], narrative=str(r["item"].get("narrative", "")))


def _context(views: list[OutcomeView], actions: list[ActionView], narratives: list[str],
             interrupt: str | None) -> str:
    """The recent context a lore keyword may match: what this prompt already shows."""
    parts = [a["action"] for v in views for a in v.actions] + [f for v in views for f in v.world_facts]
    parts += [a.text for a in actions] + narratives + ([interrupt] if interrupt else [])
    return "\n".join(parts)


def build_medium_input(doc: dict[str, Any], *, outcome_budget: int = OUTCOME_BUDGET,
                       prompt_budget: int | None = budget.DEFAULT_PROMPT_BUDGET) -> MediumInput:
    """``prompt_budget`` is the default cap (``MEDIUM_PROMPT_BUDGET``); the frame's
    ``rules.prompt_budget`` overrides it."""
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
        # The GM's per-character overrides (``Queries.gather`` reads them); a shared narration,
        # for everyone present, never carries one character's.
        overrides = [KnowledgeOverride.model_validate(o) for o in doc.get("knowledge_overrides", [])]
        know = knowledge.build_knowledge(me.id, chars.values(), affs, members, overrides)

    recent_narrative = [str(s["narrative"]) for s in doc.get("recent_solid", [])
                        if mode != "shared" or s.get("shared") is True]
    mine_views = [_action(x, chars) for x in mine]
    entries = [LoreEntry.model_validate(c) for c in doc.get("content", [])]
    context = _context(recent, same + higher + other + stalled, recent_narrative,
                       window.interrupt_reason if window else None)
    picked = lore.select(entries, me.id, affs, members, action="\n".join(a.text for a in mine_views),
                         context=context, shared=mode == "shared")
    budget_rule = frame.rules.get("prompt_budget")
    recalled = [_recall_view(r, chars) for r in doc.get("recalled", []) if mode == "personal"]

    source = None
    if window and window.interrupt_source_id and window.interrupt_source_id in chars:
        source = chars[window.interrupt_source_id].handle
    return MediumInput(
        frame_id=frame.id, window_id=window.id if window else UUID(int=0), character_id=me.id,
        handle=me.handle, trigger_mode=window.trigger_mode if window else "expiry", pscale=pscale,
        mode=mode, my_action=mine_views,
        same_pscale_actions=same, stalled_actions=stalled, resolved_outcomes=recent,
        history_summary=summarise(older) if older else "",
        summarised_outcome_ids=[v.outcome_id for v in older],
        pending_higher_pscale=higher, pending_other=other,
        world=frame.world, scenario=frame.scenario,
        content=[lore.line(e) for e in picked], content_visibility=[e.visibility for e in picked],
        game_clock=frame.clock_seconds,
        recent_narrative=recent_narrative,
        knowledge=know,
        interrupt_reason=window.interrupt_reason if window else None, interrupt_source=source,
        handles={c.handle: c.id for c in chars.values()},
        incorporated_through=int(doc.get("incorporated_through") or 0),
        snapshot_seq=int(doc.get("snapshot_seq") or 0),
        prompt_budget=int(budget_rule) if isinstance(budget_rule, int) else prompt_budget,
        recalled=recalled,
        memory=str((doc.get("memory") or {}).get("summary", "")) if mode == "personal" else "",
    )
