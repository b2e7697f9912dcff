"""Invites, the GM's: ``/frames/{id}/invites``. An invite is a ``/join/<code>`` link for one
character or open; its code is shown once. Revoking it ends the sessions it started and
removes the players who joined by it (their sockets close with 4403)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from api import schemas_auth
from api.deps import ClockDep, CurrentUser, SettingsDep, StoreDep
from synthesis import instance, sessions
from synthesis.errors import Forbidden, NotFound
from synthesis.store_auth import Invite

router = APIRouter(prefix="/frames/{frame_id}/invites", tags=["invites"])


def invite_public(invite: Invite, code: str | None = None) -> schemas_auth.InvitePublic:
    return schemas_auth.InvitePublic.model_validate(
        {**invite.model_dump(), "code": code, "path": f"/join/{code}" if code else None})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas_auth.InvitePublic)
async def create_invite(frame_id: UUID, body: schemas_auth.InviteCreate, user: CurrentUser, st: StoreDep,
                        clock: ClockDep, settings: SettingsDep) -> schemas_auth.InvitePublic:
    """GM: an invite for ``character_id``, or an open one (players then propose a character;
    instance setting ``open_invites``)."""
    now = clock.now()
    code = sessions.new_code()
    async with st.as_gm(user.id, frame_id) as conn:
        if body.character_id is None and not instance.may_open_invite(
                await st.instance_settings(), admin=user.id in settings.admin_user_ids):
            raise Forbidden("open invites are turned off on this instance (instance setting open_invites)",
                            field="character_id")
        if body.character_id is not None and await st.get_character(frame_id, body.character_id,
                                                                     conn=conn) is None:
            raise NotFound("character not found", field="character_id")
        invite = await st.create_invite(conn, frame_id, code=code, character_id=body.character_id,
                                        label=body.label, created_by=user.id, now=now,
                                        expires_at=sessions.expiry(now, body.expires_in),
                                        max_uses=body.max_uses)
    return invite_public(invite, code)


@router.get("", response_model=list[schemas_auth.InvitePublic])
async def list_invites(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas_auth.InvitePublic]:
    """GM: the frame's invites (without their codes)."""
    async with st.as_gm(user.id, frame_id):
        pass
    return [invite_public(i) for i in await st.list_invites(frame_id)]


@router.delete("/{invite_id}", response_model=schemas_auth.InvitePublic)
async def revoke_invite(frame_id: UUID, invite_id: UUID, user: CurrentUser, st: StoreDep,
                        clock: ClockDep) -> schemas_auth.InvitePublic:
    """GM: revoke the invite, its sessions and the memberships of the players who joined by it."""
    async with st.as_gm(user.id, frame_id) as conn:
        invite = await st.revoke_invite(conn, frame_id, invite_id, clock.now())
    return invite_public(invite)
