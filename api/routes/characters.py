"""Characters: the public cast for members (``internal`` only for its own player and the GM),
CRUD for the GM, and the knowledge view (exactly what one character may know)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from api import schemas
from api.deps import CurrentUser, StoreDep, User, require_member
from synthesis import knowledge, scenario
from synthesis.errors import Conflict, Forbidden, NotFound
from synthesis.store_api import ApiStore
from synthesis.types import Knowledge

router = APIRouter(prefix="/frames/{frame_id}/characters", tags=["characters"])


async def public_cast(st: ApiStore, user: User, frame_id: UUID) -> list[schemas.CharacterPublic]:
    """The cast as this user may see it: RLS decides rows and memberships; internals are added
    for the user's own characters (every character for the GM)."""
    async with st.as_user(user.id) as conn:
        role = await st.my_role(conn, frame_id)
        if role is None:
            raise NotFound("frame not found", field="frame_id")
        chars, memberships = await st.visible_cast(conn, frame_id)
    own = [c.id for c in chars if role == "gm" or c.user_id == user.id]
    internals = await st.character_internals(frame_id, own) if own else {}
    names: dict[UUID, list[str]] = {}
    for m in memberships:
        names.setdefault(m["character_id"], []).append(m["name"])
    return [schemas.character_public(c, affiliations=sorted(names.get(c.id, [])),
                                     internal=internals.get(c.id)) for c in chars]


def _one(cast: list[schemas.CharacterPublic], character_id: UUID) -> schemas.CharacterPublic:
    found = next((c for c in cast if c.id == character_id), None)
    if found is None:
        raise NotFound("character not found", field="character_id")
    return found


@router.get("", response_model=list[schemas.CharacterPublic])
async def list_characters(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas.CharacterPublic]:
    return await public_cast(st, user, frame_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.CharacterPublic)
async def create_character(frame_id: UUID, body: schemas.CharacterCreate, user: CurrentUser,
                           st: StoreDep) -> schemas.CharacterPublic:
    """GM: a player character (``user_id``, added to the frame as a player) or an NPC."""
    async with st.as_gm(user.id, frame_id) as conn:
        taken = {c.handle for c in await st.list_characters(frame_id, conn=conn)}
        if body.handle and body.handle in taken:
            raise Conflict(f"handle {body.handle!r} is taken in this frame", field="handle")
        handle = body.handle or scenario.make_handle(body.name, taken)
        ch = await st.create_character(conn, frame_id, name=body.name, handle=handle,
                                       user_id=body.user_id, universal=body.universal,
                                       internal=body.internal, external=body.external, model=body.model)
    return _one(await public_cast(st, user, frame_id), ch.id)


@router.patch("/{character_id}", response_model=schemas.CharacterPublic)
async def update_character(frame_id: UUID, character_id: UUID, body: schemas.CharacterUpdate,
                           user: CurrentUser, st: StoreDep) -> schemas.CharacterPublic:
    """GM: change truth layers, name, handle, the owner user (null: NPC) or the model override."""
    fields: dict[str, Any] = body.model_dump(exclude_unset=True)
    async with st.as_gm(user.id, frame_id) as conn:
        await st.update_character(conn, frame_id, character_id, fields)
    return _one(await public_cast(st, user, frame_id), character_id)


@router.delete("/{character_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_character(frame_id: UUID, character_id: UUID, user: CurrentUser, st: StoreDep) -> Response:
    async with st.as_gm(user.id, frame_id) as conn:
        await st.delete_row(conn, "api_delete_character", frame_id, character_id, field="character_id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{character_id}/knowledge", response_model=Knowledge)
async def character_knowledge(frame_id: UUID, character_id: UUID, user: CurrentUser,
                              st: StoreDep) -> Knowledge:
    """Exactly what this character may know (DESIGN §4). Its own player or the GM."""
    role = await require_member(st, user, frame_id)
    cast = await st.list_characters(frame_id)
    me = next((c for c in cast if c.id == character_id), None)
    if me is None:
        raise NotFound("character not found", field="character_id")
    if role != "gm" and me.user_id != user.id:
        raise Forbidden("only the character's player and the GM may see its knowledge",
                        field="character_id")
    affs = await st.list_affiliations(frame_id)
    mems = await st.list_memberships(frame_id)
    # The GM's overrides apply, as in the prompt; the overrides themselves stay the GM's.
    overrides = await st.knowledge_overrides(frame_id, character_id)
    return knowledge.build_knowledge(character_id, cast, affs, mems, overrides)
