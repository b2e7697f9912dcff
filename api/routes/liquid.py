"""Liquid: submit (optionally commit), commit, edit before commit, withdraw before commit, and
read my liquid and other characters' visible intent.

Writes run as the user, so RLS decides who may touch which character's liquid; the API only
adds the names of the fields at fault. Submissions are rate limited per user.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api import schemas
from api.deps import ClockDep, CurrentUser, LimiterDep, RegistryDep, SettingsDep, StoreDep, require_member
from synthesis import liquid
from synthesis.errors import Conflict, Forbidden, NotFound
from synthesis.store_api import ApiStore
from synthesis.types import LiquidEntry

router = APIRouter(tags=["liquid"])


async def _mine(st: ApiStore, user_id: UUID, liquid_id: UUID) -> LiquidEntry:
    async with st.as_user(user_id) as conn:
        found = await st.find_liquid(liquid_id, conn=conn)
    if found is None:
        raise NotFound("liquid not found", field="liquid_id")
    return found


def _not_submitted(x: LiquidEntry) -> Conflict:
    return Conflict(f"liquid status is {x.status}, not submitted", field="status")


@router.post("/frames/{frame_id}/liquid", status_code=status.HTTP_201_CREATED,
             response_model=schemas.LiquidPublic)
async def submit_liquid(frame_id: UUID, body: schemas.LiquidCreate, user: CurrentUser, st: StoreDep,
                        registry: RegistryDep, clock: ClockDep, settings: SettingsDep,
                        limiter: LimiterDep, response: Response) -> schemas.LiquidPublic:
    """Submit an action for one of my characters, with its soft analysis (pscale, timer,
    interruptive, targets). ``commit: true`` also commits it: it opens or joins the
    character's window and ``timer_expires_at`` is set. With ``client_key``, a retry returns
    the first submission with 200 (and commits it if asked and still a draft)."""
    await limiter.take(st, user.id)
    await require_member(st, user, frame_id)
    try:
        sub = await liquid.submit(st, registry, frame_id=frame_id, character_id=body.character_id,
                                  content=body.content, now=clock.now(), user_id=user.id,
                                  commit=body.commit, time_scale=settings.medium_time_scale,
                                  pscale=body.pscale, client_key=body.client_key)
    except Forbidden:
        raise Forbidden("you do not play this character", field="character_id") from None
    if sub.replayed:
        response.status_code = status.HTTP_200_OK
    return schemas.liquid_public(sub.liquid)


@router.get("/frames/{frame_id}/liquid", response_model=list[schemas.LiquidPublic])
async def list_liquid(frame_id: UUID, user: CurrentUser, st: StoreDep,
                      limit: int = Query(1000, ge=1, le=1000)) -> list[schemas.LiquidPublic]:
    """My characters' liquid (the GM: everyone's), oldest first."""
    async with st.as_member(user.id, frame_id) as conn:
        rows = await st.frame_liquid(conn, frame_id, limit=limit)
    return [schemas.liquid_public(x) for x in rows]


@router.get("/frames/{frame_id}/intent", response_model=list[schemas.IntentPublic])
async def list_intent(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas.IntentPublic]:
    """Other characters' unresolved actions: visible intent, before and after commit."""
    await require_member(st, user, frame_id)
    return [schemas.IntentPublic.model_validate(r) for r in await st.intent(frame_id, user.id)]


@router.post("/liquid/{liquid_id}/commit", response_model=schemas.LiquidPublic)
async def commit_liquid(liquid_id: UUID, user: CurrentUser, st: StoreDep,
                        clock: ClockDep) -> schemas.LiquidPublic:
    """Commit: the liquid becomes binding and joins (or opens) its character's window.
    409 when it is not ``submitted``."""
    found = await _mine(st, user.id, liquid_id)
    if found.status != "submitted":
        raise _not_submitted(found)
    try:
        async with st.as_user(user.id) as conn:
            done = await st.commit_liquid(conn, found.frame_id, liquid_id, clock.now())
    except Conflict as exc:
        raise Conflict(f"liquid status: {exc.message}", field="status") from None
    return schemas.liquid_public(done)


@router.patch("/liquid/{liquid_id}", response_model=schemas.LiquidPublic)
async def edit_liquid(liquid_id: UUID, body: schemas.LiquidUpdate, user: CurrentUser, st: StoreDep,
                      registry: RegistryDep, settings: SettingsDep) -> schemas.LiquidPublic:
    """Edit before commit; the new text is analysed again. 409 after commit."""
    text = liquid.validate_content(body.content)
    found = await _mine(st, user.id, liquid_id)
    if found.status != "submitted":
        raise _not_submitted(found)
    frame = await st.get_frame(found.frame_id)
    cast = await st.list_characters(found.frame_id)
    me = next((c for c in cast if c.id == found.character_id), None)
    if frame is None or me is None:
        raise NotFound("liquid not found", field="liquid_id")
    a = await liquid.analyse(registry, frame, me, cast, text, time_scale=settings.medium_time_scale)
    async with st.as_user(user.id, lock_frame=found.frame_id) as conn:
        done = await st.update_liquid(
            conn, found.frame_id, liquid_id, content=text, refined_text=a.refined_text or None,
            pscale=a.pscale, timer_duration=a.timer_duration, interruptive=a.interruptive,
            interrupt_targets=a.interrupt_targets, soft_source=a.source, soft_note=a.note)
        if done is None:
            raise Conflict("liquid status is no longer submitted", field="status")
        await st.emit(conn, found.frame_id, [("liquid", liquid_id, [user.id])])
    return schemas.liquid_public(done)


@router.delete("/liquid/{liquid_id}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_liquid(liquid_id: UUID, user: CurrentUser, st: StoreDep) -> Response:
    """Withdraw before commit (the row stays, ``status: withdrawn``). 409 after commit."""
    found = await _mine(st, user.id, liquid_id)
    if found.status != "submitted":
        raise _not_submitted(found)
    async with st.as_user(user.id, lock_frame=found.frame_id) as conn:
        if await st.withdraw_liquid(conn, found.frame_id, liquid_id) is None:
            raise Conflict("liquid status is no longer submitted", field="status")
        await st.emit(conn, found.frame_id, [("liquid", liquid_id, [user.id])])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
