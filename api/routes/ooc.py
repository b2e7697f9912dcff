"""Out-of-character chat (issue 15, item 6): players and the GM talk about the game, not in
it. ``POST /frames/{id}/ooc`` and ``GET /frames/{id}/ooc?since=``, live as ``ooc`` messages to
every member. No gather reads the table, so OOC text never enters a prompt."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, status

from api import schemas_gm
from api.deps import ClockDep, CurrentUser, LimiterDep, StoreDep

router = APIRouter(prefix="/frames/{frame_id}", tags=["ooc"])


@router.post("/ooc", status_code=status.HTTP_201_CREATED, response_model=schemas_gm.OocPublic)
async def post_ooc(frame_id: UUID, body: schemas_gm.OocCreate, user: CurrentUser, st: StoreDep,
                   clock: ClockDep, limiter: LimiterDep) -> schemas_gm.OocPublic:
    """Say something out of character to the whole table (rate limited like submissions)."""
    await limiter.take(st, user.id)
    async with st.as_member_locked(user.id, frame_id) as (conn, role):
        message = await st.post_ooc(conn, frame_id, user.id, role, body.text, clock.now())
    return schemas_gm.ooc_public(message)


@router.get("/ooc", response_model=list[schemas_gm.OocPublic])
async def list_ooc(frame_id: UUID, user: CurrentUser, st: StoreDep,
                   since: int = Query(0, ge=0, description="only messages with a cursor (seq) greater than this"),
                   limit: int = Query(200, ge=1, le=1000)) -> list[schemas_gm.OocPublic]:
    """The frame's OOC messages in cursor order, read as the user (RLS: members only)."""
    async with st.as_member(user.id, frame_id) as conn:
        rows = await st.ooc_since(conn, frame_id, since, limit)
    return [schemas_gm.ooc_public(m) for m in rows]
