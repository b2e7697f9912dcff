"""The GM's pacing (issue 15, item 1): pause and resume a frame, resolve or extend one window,
and a player's "ready" (close my own open window now). The rules are ``synthesis/pacing.py``;
each route runs one transaction holding the frame lock, and its events reach clients live
(``frame`` to every member on pause and resume; ``timer`` to the window's owner and the GM)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from uuid import UUID

from fastapi import APIRouter

from api import schemas, schemas_gm
from api.deps import ClockDep, CurrentUser, RegistryDep, StoreDep, gm_of
from synthesis import pacing
from synthesis.errors import NotFound
from synthesis.store import Connection
from synthesis.store_api import ApiStore
from synthesis.types import Window

router = APIRouter(tags=["gm"])


def _changed(snap: pacing.PaceSnapshot, plan: pacing.GmPlan) -> Window:
    change = plan.windows[0]
    w = snap.window(change.id)
    return w.model_copy(update={"due_at": change.due_at, "paused_remaining": change.paused_remaining})


async def _gm_of_window(st: ApiStore, user_id: UUID, window_id: UUID
                        ) -> AbstractAsyncContextManager[tuple[UUID, Connection]]:
    return gm_of(st, user_id, await st.window_frame(window_id), what="window", field="window_id")


@router.post("/frames/{frame_id}/pause", response_model=schemas.FramePublic)
async def pause(frame_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep,
                registry: RegistryDep) -> schemas.FramePublic:
    """Stop the frame's clock: every open window keeps the time it has left, nothing
    synthesizes; submissions are still accepted and wait."""
    now = clock.now()
    async with st.as_gm(user.id, frame_id) as conn:
        await st.pace(conn, frame_id, lambda snap: pacing.pause(snap, now))
        frame = await st.get_frame(frame_id, conn=conn)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    return schemas.frame_public(frame, role="gm", narrator=registry.label)


@router.post("/frames/{frame_id}/resume", response_model=schemas.FramePublic)
async def resume(frame_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep,
                 registry: RegistryDep) -> schemas.FramePublic:
    """Start the clock again: each open window gets back exactly the time it had left."""
    now = clock.now()
    async with st.as_gm(user.id, frame_id) as conn:
        await st.pace(conn, frame_id, lambda snap: pacing.resume(snap, now))
        frame = await st.get_frame(frame_id, conn=conn)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    return schemas.frame_public(frame, role="gm", narrator=registry.label)


@router.post("/windows/{window_id}/resolve", response_model=schemas.TimerPublic)
async def resolve(window_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep) -> schemas.TimerPublic:
    """Close one open window now: its Medium runs at once (in a paused frame: at the resume)."""
    now = clock.now()
    async with await _gm_of_window(st, user.id, window_id) as (frame_id, conn):
        snap, plan = await st.pace(conn, frame_id, lambda snap: pacing.resolve(snap, window_id, now))
    return schemas.timer_public(_changed(snap, plan), now)


@router.post("/windows/{window_id}/extend", response_model=schemas.TimerPublic)
async def extend(window_id: UUID, body: schemas_gm.Extend, user: CurrentUser, st: StoreDep,
                 clock: ClockDep) -> schemas.TimerPublic:
    """Give one open window ``seconds`` more (from now, if it is already due)."""
    now = clock.now()
    async with await _gm_of_window(st, user.id, window_id) as (frame_id, conn):
        snap, plan = await st.pace(conn, frame_id,
                                   lambda snap: pacing.extend(snap, window_id, body.seconds, now))
    return schemas.timer_public(_changed(snap, plan), now)


@router.post("/frames/{frame_id}/ready", response_model=schemas.TimerPublic)
async def ready(frame_id: UUID, user: CurrentUser, st: StoreDep, clock: ClockDep,
                body: schemas_gm.Ready | None = None) -> schemas.TimerPublic:
    """A player is done: close my own character's open window now."""
    now = clock.now()
    character_id = body.character_id if body else None
    async with st.as_member_locked(user.id, frame_id) as (conn, _role):
        snap, plan = await st.pace(conn, frame_id,
                                   lambda snap: pacing.ready(snap, user.id, character_id, now))
    return schemas.timer_public(_changed(snap, plan), now)
