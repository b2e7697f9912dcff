"""GM narration (issue 15, item 2): ``POST /frames/{id}/narrate`` writes an outcome with
``source: gm`` (``synthesis/narration.py``) that every Medium incorporates like any other; its
involved characters get a perceive window. Live: the ``outcome`` to every member, each
perceive window's ``timer`` to its owner (and everything to the GM)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from api import schemas, schemas_gm
from api.deps import ClockDep, CurrentUser, SettingsDep, StoreDep
from synthesis import narration
from synthesis.errors import NotFound

router = APIRouter(tags=["gm"])


@router.post("/frames/{frame_id}/narrate", status_code=status.HTTP_201_CREATED,
             response_model=schemas.OutcomePublic)
async def narrate(frame_id: UUID, body: schemas_gm.Narrate, user: CurrentUser, st: StoreDep,
                  clock: ClockDep, settings: SettingsDep) -> schemas.OutcomePublic:
    """The GM tells what happens: one outcome for everyone, and a perceive window for each
    involved character with none open."""
    now = clock.now()
    async with st.as_gm(user.id, frame_id) as conn:
        _, plan = await st.pace(conn, frame_id, lambda snap: narration.narrate(
            snap, text=body.text, characters_involved=body.characters_involved,
            world_facts=body.world_facts, now=now, time_scale=settings.medium_time_scale))
        rows = await st.rows_by_ids("outcome", frame_id, [plan.extra["outcome_id"]], conn=conn)
    if not rows:
        raise NotFound("outcome not found", field="frame_id")
    return schemas.outcome_public(rows[0], gm=True)  # type: ignore[arg-type]
