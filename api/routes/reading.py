"""Reading: my narratives (the GM: all), the frame's outcomes, and timers (the GM: all; a
player: its own). All read as the user, so RLS decides what is returned."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from api import schemas
from api.deps import ClockDep, CurrentUser, StoreDep

router = APIRouter(prefix="/frames/{frame_id}", tags=["reading"])

Since = Query(0, ge=0, le=2**63 - 1, description="only rows with a cursor (seq) greater than this")
Limit = Query(200, ge=1, le=1000)


@router.get("/solid", response_model=list[schemas.NarrativePublic])
async def list_solid(frame_id: UUID, user: CurrentUser, st: StoreDep, since: int = Since,
                     limit: int = Limit) -> list[schemas.NarrativePublic]:
    """My narratives in cursor order (the GM: every character's). Directives are not included."""
    async with st.as_member(user.id, frame_id) as conn:
        rows = await st.solids(frame_id, since=since, limit=limit, conn=conn)
    return [schemas.narrative_public(s) for s in rows]


@router.get("/outcomes", response_model=list[schemas.OutcomePublic])
async def list_outcomes(frame_id: UUID, user: CurrentUser, st: StoreDep, since: int = Since,
                        limit: int = Limit) -> list[schemas.OutcomePublic]:
    """The shared bones, in cursor order (the GM also sees each outcome's redaction count)."""
    async with st.as_member(user.id, frame_id) as conn:
        gm = await st.my_role(conn, frame_id) == "gm"
        rows = await st.outcomes(frame_id, since=since, limit=limit, conn=conn)
    return [schemas.outcome_public(o, gm=gm) for o in rows]


@router.get("/timers", response_model=list[schemas.TimerPublic])
async def list_timers(frame_id: UUID, user: CurrentUser, st: StoreDep,
                      clock: ClockDep) -> list[schemas.TimerPublic]:
    """Open, claimed and failed windows with their remaining time (a player: its own)."""
    async with st.as_member(user.id, frame_id) as conn:
        rows = await st.open_windows(frame_id, conn=conn)
    now = clock.now()
    return [schemas.timer_public(w, now) for w in rows]
