"""GM narration (issue 15, item 2): the GM tells what happens, as an outcome like any other.

``narrate`` is pure, like ``route.plan``: from a ``PaceSnapshot`` read under the frame lock it
plans one outcome with ``source: gm`` (no source character, no resolved actions: the GM's text
is its ``narration``, with any ``world_facts`` it states), announced to every member, and a
perceive window for every involved character that has none open, so its player soon reads
what happened to it (one with an open window narrates it when that window closes, as after
any outcome). Every Medium's next gather has the outcome among those it has not yet
incorporated, exactly as it has a Medium's. The frame clock does not move: the GM narrates
within the current moment. In a paused frame the perceive windows are frozen with their
whole time. In a shared frame nobody gets a perceive window (each would write the one shared
narrative again): the frame's next window narrates it to everyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis import pacing
from synthesis.errors import InvalidInput
from synthesis.route import Event, new_id
from synthesis.timing import perceive_seconds

GM_PSCALE = -1  # an outcome's pscale is required; a GM beat is told at about a minute's scale
NARRATOR = "gm"


def narrate(snap: pacing.PaceSnapshot, *, text: str, characters_involved: Sequence[UUID],
            world_facts: Sequence[str], now: datetime, time_scale: float = 1.0,
            ids: Any = new_id) -> pacing.GmPlan:
    """The GM's outcome and the perceive windows it opens (see the module docstring)."""
    text = text.strip()
    if not text:
        raise InvalidInput("text is empty", field="text")
    involved = list(dict.fromkeys(characters_involved))
    unknown = [c for c in involved if c not in snap.users]
    if unknown:
        raise InvalidInput(f"not a character of this frame: {unknown[0]}", field="characters_involved")
    facts = [f.strip() for f in world_facts if f.strip()]
    outcome_id = ids()
    events = [Event("outcome", outcome_id, None)]
    outcome = {
        "id": outcome_id, "window_id": outcome_id, "seq_offset": 1, "source": "gm",
        "source_character_id": None, "narration": text, "actions_resolved": [], "world_facts": facts,
        "characters_involved": involved, "interrupts": [], "pscale": GM_PSCALE,
        "game_clock": snap.clock_seconds, "narrator": NARRATOR, "created_at": now}
    busy = {w.character_id for w in snap.windows}
    if snap.mode == "shared":
        busy |= set(involved)
    secs = perceive_seconds(snap.perceive_seconds, time_scale=time_scale)
    opened: list[dict[str, Any]] = []
    for cid in involved:
        if cid in busy:
            continue
        wid = ids()
        opened.append({"id": wid, "character_id": cid, "trigger_mode": "perceive", "pscale": GM_PSCALE,
                       "opened_at": now, "due_at": pacing.after(now, secs),
                       "game_clock_at_open": snap.clock_seconds,
                       "paused_remaining": secs if snap.paused_at is not None else None})
        events.append(Event("timer", wid, snap.audience(cid)))
    return pacing.GmPlan(snap.frame_id, now, outcomes=(outcome,), open_windows=tuple(opened),
                         events=tuple(events), extra={"outcome_id": outcome_id})
