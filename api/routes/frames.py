"""Frames: create (the creator becomes GM), list mine, get, change (GM), members (GM)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api import schemas
from api.deps import ClockDep, CurrentUser, RegistryDep, SettingsDep, StoreDep
from synthesis import instance, rules
from synthesis.errors import Forbidden, NotFound

router = APIRouter(prefix="/frames", tags=["frames"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.FramePublic)
async def create_frame(body: schemas.FrameCreate, user: CurrentUser, st: StoreDep,
                       registry: RegistryDep, settings: SettingsDep) -> schemas.FramePublic:
    """Create a frame; the caller becomes its GM (instance setting ``frame_creation``: anyone,
    or admins only)."""
    if not instance.may_create_frame(await st.instance_settings(), admin=user.id in settings.admin_user_ids):
        raise Forbidden("creating frames is limited to instance admins (instance setting frame_creation)",
                        field="authorization")
    frame = await st.create_frame(user.id, name=body.name, mode=body.mode, world=body.world,
                                  scenario=body.scenario, pscale_windows=body.pscale_windows,
                                  perceive=body.perceive)
    return schemas.frame_public(frame, role="gm", narrator=registry.label)


@router.get("", response_model=list[schemas.FramePublic])
async def list_frames(user: CurrentUser, st: StoreDep, registry: RegistryDep) -> list[schemas.FramePublic]:
    """The frames I am a member of."""
    async with st.as_user(user.id) as conn:
        frames = await st.my_frames(conn)
    return [schemas.frame_public(f, role=role, narrator=registry.label) for f, role in frames]


@router.get("/{frame_id}", response_model=schemas.FramePublic)
async def get_frame(frame_id: UUID, user: CurrentUser, st: StoreDep,
                    registry: RegistryDep) -> schemas.FramePublic:
    async with st.as_user(user.id) as conn:
        role = await st.my_role(conn, frame_id)
        frame = await st.get_frame(frame_id, conn=conn) if role else None
    if frame is None or role is None:
        raise NotFound("frame not found", field="frame_id")
    return schemas.frame_public(frame, role=role, narrator=registry.label)


@router.patch("/{frame_id}", response_model=schemas.FramePublic)
async def update_frame(frame_id: UUID, body: schemas.FrameUpdate, user: CurrentUser, st: StoreDep,
                       registry: RegistryDep) -> schemas.FramePublic:
    """GM: mode, per-pscale window overrides (seconds), perceive and its window's seconds,
    outcome mode, world, scenario, name."""
    async with st.as_gm(user.id, frame_id) as conn:
        before = await st.get_frame(frame_id, conn=conn)
        frame = await st.update_frame(conn, frame_id, name=body.name, mode=body.mode, world=body.world,
                                      scenario=body.scenario, pscale_windows=body.pscale_windows,
                                      perceive=body.perceive, outcome_mode=body.outcome_mode,
                                      perceive_seconds=body.perceive_seconds, review=body.review)
        for kind, detail in rules.frame_edits(before, frame) if before else []:
            await st.log_change(conn, frame_id, kind, user.id, detail)  # author/designer log
    return schemas.frame_public(frame, role="gm", narrator=registry.label)


@router.post("/{frame_id}/members", status_code=status.HTTP_201_CREATED, response_model=schemas.MemberPublic)
async def add_member(frame_id: UUID, body: schemas.MemberCreate, user: CurrentUser,
                     st: StoreDep) -> schemas.MemberPublic:
    """GM: add a user (or change their role)."""
    async with st.as_gm(user.id, frame_id) as conn:
        row = await st.set_member(conn, frame_id, body.user_id, body.role)
    return schemas.MemberPublic.model_validate(row)


@router.delete("/{frame_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(frame_id: UUID, user_id: UUID, user: CurrentUser, st: StoreDep,
                        clock: ClockDep) -> Response:
    """GM: remove a member (a frame keeps at least one GM). Their sessions of this frame are
    revoked and their open sockets closed (4403), at once: the per-user revocation."""
    async with st.as_gm(user.id, frame_id) as conn:
        await st.remove_member(conn, frame_id, user_id)
        await st.revoke_user_sessions(conn, frame_id, user_id, clock.now(), "removed by the GM")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
