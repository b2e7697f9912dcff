"""Committing a liquid (``medium_commit_snapshot_v2`` → ``medium_commit_v2``): the decision of
``timing.commit_decision`` on a snapshot read under the frame lock, plus its events. Pure, like
``route.plan``; SQL writes exactly what it names (DESIGN §4½)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis.errors import Conflict, NotFound
from synthesis.jsonsafe import jsonable
from synthesis.route import Event, new_id
from synthesis.timing import OpenWindowRef, commit_decision


def commit_plan(doc: Mapping[str, Any], now: datetime, *, ids: Any = new_id) -> dict[str, Any]:
    """The commit of one draft (``medium_commit_snapshot_v2`` → ``medium_commit_v2``): the
    decision of ``timing.commit_decision`` plus its events (the liquid to its owner, and the
    new window's timer when one opens). ``frame_window`` in the snapshot is the frame's open
    frame-level window (shared mode), which any character's commit joins. A liquid that is
    not a draft is refused here, naming its status, before anything is written."""
    if not doc or doc.get("liquid") is None:
        raise NotFound("liquid not found", field="liquid_id")
    liq, frame, open_w = doc["liquid"], doc["frame"], doc.get("open_window")
    frame_w = doc.get("frame_window")
    if liq["status"] != "submitted":
        raise Conflict(f"liquid is already {liq['status']}", field="status")
    decision = commit_decision(
        mode=frame["mode"], pscale=int(liq["pscale"]), timer_duration=float(liq["timer_duration"]),
        clock_seconds=int(frame["clock_seconds"]), now=now, new_id=ids(),
        open_window=_open_ref(open_w), frame_window=_open_ref(frame_w))
    owner = [UUID(str(doc["user_id"]))] if doc.get("user_id") else []
    events = [Event("liquid", UUID(str(liq["id"])), tuple(owner))]
    opened = None
    if decision.opens:
        opened = {"id": decision.window_id, "trigger_mode": decision.trigger_mode,
                  "pscale": decision.pscale, "opened_at": now, "due_at": decision.due_at,
                  "game_clock_at_open": decision.game_clock_at_open, "scope": decision.scope}
        # A frame-level window (shared mode) is every member's timer; a character's, its owner's.
        events.append(Event("timer", decision.window_id, None if decision.scope == "frame" else tuple(owner)))
    plan_doc: dict[str, Any] = jsonable({
        "window_id": decision.window_id, "now": now, "open_window": opened,
        "events": [{"type": e.type, "ref_id": e.ref_id, "audience": None if e.audience is None else list(e.audience)}
                   for e in events]})
    return plan_doc


def _open_ref(w: Mapping[str, Any] | None) -> OpenWindowRef | None:
    return OpenWindowRef(UUID(str(w["id"])), datetime.fromisoformat(str(w["due_at"]))) if w else None
