"""Hold for review (issue 15, item 3): with the frame setting ``review: true`` every outcome
and its narrative wait for the GM (``synthesis/review.py``). ``POST /outcomes/{id}/approve``
releases one; ``/edit`` releases it with the GM's ``world_facts`` / ``actions_resolved``;
``/reject`` drops it and fails its window visibly (retryable). GM only."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from uuid import UUID

from fastapi import APIRouter

from api import schemas, schemas_gm
from api.deps import ClockDep, CurrentUser, SettingsDep, StoreDep, gm_of
from synthesis import review
from synthesis.errors import NotFound
from synthesis.store import Connection
from synthesis.store_api import ApiStore
from synthesis.types import OutcomeRow

router = APIRouter(prefix="/outcomes/{outcome_id}", tags=["gm"])


async def _gm_of_outcome(st: ApiStore, user_id: UUID, outcome_id: UUID
                         ) -> AbstractAsyncContextManager[tuple[UUID, Connection]]:
    return gm_of(st, user_id, await st.outcome_frame(outcome_id), what="outcome", field="outcome_id")


async def _released(st: ApiStore, conn: Connection, frame_id: UUID, outcome_id: UUID) -> schemas.OutcomePublic:
    rows = await st.rows_by_ids("outcome", frame_id, [outcome_id], conn=conn)
    found = [r for r in rows if isinstance(r, OutcomeRow)]
    if not found:
        raise NotFound("outcome not found", field="outcome_id")
    return schemas.outcome_public(found[0], gm=True)


@router.post("/approve", response_model=schemas.OutcomePublic)
async def approve(outcome_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep,
                  settings: SettingsDep) -> schemas.OutcomePublic:
    """Release a held outcome and its narrative; what it causes (interrupts, perceive windows)
    happens now."""
    now = clock.now()
    async with await _gm_of_outcome(st, user.id, outcome_id) as (frame_id, conn):
        await st.review(conn, frame_id, outcome_id, lambda snap: review.approve(
            snap, now, time_scale=settings.medium_time_scale))
        return await _released(st, conn, frame_id, outcome_id)


@router.post("/edit", response_model=schemas.OutcomePublic)
async def edit(outcome_id: UUID, body: schemas_gm.OutcomeEdit, user: CurrentUser, st: StoreDep,
               clock: ClockDep, settings: SettingsDep) -> schemas.OutcomePublic:
    """Release a held outcome with the GM's world facts and/or resolved actions."""
    now = clock.now()
    actions = None if body.actions_resolved is None else [a.model_dump(mode="json") for a in body.actions_resolved]
    async with await _gm_of_outcome(st, user.id, outcome_id) as (frame_id, conn):
        await st.review(conn, frame_id, outcome_id, lambda snap: review.approve(
            snap, now, world_facts=body.world_facts, actions_resolved=actions,
            time_scale=settings.medium_time_scale))
        return await _released(st, conn, frame_id, outcome_id)


@router.post("/reject", response_model=schemas.TimerPublic)
async def reject(outcome_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep) -> schemas.TimerPublic:
    """Drop a held outcome and its narrative: the window fails visibly ("rejected by the GM")
    and a GM retry narrates it afresh."""
    now = clock.now()
    async with await _gm_of_outcome(st, user.id, outcome_id) as (frame_id, conn):
        plan = await st.review(conn, frame_id, outcome_id, lambda snap: review.reject(snap, now))
        rows = await st.rows_by_ids("timer", frame_id, [plan.window_id], conn=conn)
    if not rows:
        raise NotFound("window not found", field="outcome_id")
    return schemas.timer_public(rows[0], now)  # type: ignore[arg-type]
