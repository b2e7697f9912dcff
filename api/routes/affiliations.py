"""Affiliations: groups with the three truth layers. ``internal`` only for members (a user with
a character in it, hidden or not) and the GM; hidden memberships only for their own player and
the GM (RLS on memberships)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from api import schemas
from api.deps import CurrentUser, StoreDep, User
from synthesis import knowledge
from synthesis.errors import NotFound
from synthesis.store_api import ApiStore
from synthesis.types import Membership

router = APIRouter(prefix="/frames/{frame_id}/affiliations", tags=["affiliations"])


async def public_affiliations(st: ApiStore, user: User, frame_id: UUID) -> list[schemas.AffiliationPublic]:
    async with st.as_user(user.id) as conn:
        role = await st.my_role(conn, frame_id)
        if role is None:
            raise NotFound("frame not found", field="frame_id")
        affs = await st.visible_affiliations(conn, frame_id)
        characters, memberships = await st.visible_cast(conn, frame_id)
    if role != "gm":  # RLS already hides the rest; the rule itself is the knowledge code's
        mine = {c.id for c in characters if c.user_id == user.id}
        visible = [Membership.model_validate({**m, "frame_id": frame_id}) for m in memberships]
        known = knowledge.known_affiliations(mine, visible)
        affs = [a for a in affs if a.id in known]
    internals = await st.affiliation_internals(frame_id, user.id, gm=role == "gm")
    members: dict[UUID, list[UUID]] = {}
    for m in memberships:
        members.setdefault(m["affiliation_id"], []).append(m["character_id"])
    return [schemas.AffiliationPublic(id=a.id, frame_id=a.frame_id, name=a.name, universal=a.universal,
                                      external=a.external, internal=internals.get(a.id),
                                      members=sorted(members.get(a.id, []), key=str))
            for a in affs]


async def _one(st: ApiStore, user: User, frame_id: UUID, affiliation_id: UUID) -> schemas.AffiliationPublic:
    found = next((a for a in await public_affiliations(st, user, frame_id) if a.id == affiliation_id), None)
    if found is None:
        raise NotFound("affiliation not found", field="affiliation_id")
    return found


@router.get("", response_model=list[schemas.AffiliationPublic])
async def list_affiliations(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas.AffiliationPublic]:
    return await public_affiliations(st, user, frame_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.AffiliationPublic)
async def create_affiliation(frame_id: UUID, body: schemas.AffiliationCreate, user: CurrentUser,
                             st: StoreDep) -> schemas.AffiliationPublic:
    async with st.as_gm(user.id, frame_id) as conn:
        a = await st.create_affiliation(conn, frame_id, name=body.name, universal=body.universal,
                                        internal=body.internal, external=body.external)
    return await _one(st, user, frame_id, a.id)


@router.patch("/{affiliation_id}", response_model=schemas.AffiliationPublic)
async def update_affiliation(frame_id: UUID, affiliation_id: UUID, body: schemas.AffiliationUpdate,
                             user: CurrentUser, st: StoreDep) -> schemas.AffiliationPublic:
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    async with st.as_gm(user.id, frame_id) as conn:
        await st.update_affiliation(conn, frame_id, affiliation_id, fields)
    return await _one(st, user, frame_id, affiliation_id)


@router.delete("/{affiliation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_affiliation(frame_id: UUID, affiliation_id: UUID, user: CurrentUser, st: StoreDep) -> Response:
    async with st.as_gm(user.id, frame_id) as conn:
        await st.delete_row(conn, "api_delete_affiliation", frame_id, affiliation_id, field="affiliation_id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{affiliation_id}/members/{character_id}", response_model=schemas.MembershipPublic)
async def set_membership(frame_id: UUID, affiliation_id: UUID, character_id: UUID,
                         body: schemas.MembershipSet, user: CurrentUser, st: StoreDep) -> schemas.MembershipPublic:
    """GM: make a character a member; ``hidden`` makes it known only to that character."""
    async with st.as_gm(user.id, frame_id) as conn:
        m = await st.set_membership(conn, frame_id, affiliation_id, character_id, body.hidden)
    return schemas.MembershipPublic.model_validate(m.model_dump())


@router.delete("/{affiliation_id}/members/{character_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_membership(frame_id: UUID, affiliation_id: UUID, character_id: UUID, user: CurrentUser,
                            st: StoreDep) -> Response:
    async with st.as_gm(user.id, frame_id) as conn:
        await st.delete_row(conn, "api_delete_membership", frame_id, affiliation_id, character_id,
                            field="character_id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
