"""GM actions and views: directives (what a Medium sent, or would send now), retrying a failed
window, cancelling an open one, and the frame's numbers."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api import schemas
from api.deps import ClockDep, CurrentUser, GatewayDep, RegistryDep, StoreDep
from api.metrics import frame_stats
from synthesis import medium
from synthesis.errors import Conflict, NotFound
from synthesis.store_api import ApiStore

router = APIRouter(prefix="/frames/{frame_id}", tags=["gm"])


async def _gm(st: ApiStore, user_id: UUID, frame_id: UUID) -> None:
    async with st.as_gm(user_id, frame_id):
        pass


@router.get("/characters/{character_id}/directive", response_model=schemas.Directive)
async def character_directive(frame_id: UUID, character_id: UUID, user: CurrentUser, st: StoreDep,
                              registry: RegistryDep) -> schemas.Directive:
    """The prompt this character's Medium would send if it woke now."""
    await _gm(st, user.id, frame_id)
    if await st.get_character(frame_id, character_id) is None:
        raise NotFound("character not found", field="character_id")
    return schemas.Directive(directive=await medium.preview(st, registry, frame_id, character_id))


@router.get("/solid/{solid_id}/directive", response_model=schemas.Directive)
async def solid_directive(frame_id: UUID, solid_id: UUID, user: CurrentUser, st: StoreDep) -> schemas.Directive:
    """The prompt that produced this narrative."""
    await _gm(st, user.id, frame_id)
    directive = await st.solid_directive(frame_id, solid_id)
    if directive is None:
        raise NotFound("narrative not found", field="solid_id")
    return schemas.Directive(directive=directive)


async def _window_conflict(st: ApiStore, frame_id: UUID, window_id: UUID, wanted: str) -> Exception:
    w = await st.get_window(frame_id, window_id)
    if w is None:
        return NotFound("window not found", field="window_id")
    return Conflict(f"window is {w.status}, not {wanted}", field="status")


@router.post("/windows/{window_id}/retry", response_model=schemas.TimerPublic)
async def retry_window(frame_id: UUID, window_id: UUID, user: CurrentUser, st: StoreDep,
                       clock: ClockDep) -> schemas.TimerPublic:
    """A failed window opens again, due now."""
    now = clock.now()
    async with st.as_gm(user.id, frame_id) as conn:
        w = await st.retry_window(conn, frame_id, window_id, now)
    if w is None:
        raise await _window_conflict(st, frame_id, window_id, "failed")
    return schemas.timer_public(w, now)


@router.post("/windows/{window_id}/cancel", response_model=schemas.TimerPublic)
async def cancel_window(frame_id: UUID, window_id: UUID, user: CurrentUser, st: StoreDep,
                        clock: ClockDep) -> schemas.TimerPublic:
    """An open window is cancelled; its committed liquid goes back to submitted."""
    now = clock.now()
    async with st.as_gm(user.id, frame_id) as conn:
        w = await st.cancel_window(conn, frame_id, window_id, now, "cancelled by the GM")
    if w is None:
        raise await _window_conflict(st, frame_id, window_id, "open")
    return schemas.timer_public(w, now)


@router.get("/stats", response_model=schemas.StatsPublic)
async def stats(frame_id: UUID, user: CurrentUser, st: StoreDep, gateway: GatewayDep) -> schemas.StatsPublic:
    await _gm(st, user.id, frame_id)
    return schemas.StatsPublic.model_validate(await frame_stats(st, gateway, frame_id))
