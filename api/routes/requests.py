"""Players make characters (issue 14, item 2): a player who joined by an open invite proposes a
character (name, the three truth layers, public or hidden memberships of the frame's
affiliations), validated exactly as a scenario file's character (``scenario.parse_character``);
the GM approves it, as sent or edited, or rejects it. Approval creates the character, played by
the proposer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel

from api import schemas, schemas_auth
from api.deps import ClockDep, CurrentUser, StoreDep
from api.routes.characters import public_cast
from synthesis import scenario
from synthesis.errors import Conflict, Forbidden, NotFound
from synthesis.store_api import ApiStore
from synthesis.store_auth import CharacterRequest

router = APIRouter(prefix="/frames/{frame_id}/character-requests", tags=["characters"])


class Approved(BaseModel):
    request: schemas_auth.CharacterRequestPublic
    character: schemas.CharacterPublic


def _public(r: CharacterRequest) -> schemas_auth.CharacterRequestPublic:
    return schemas_auth.CharacterRequestPublic.model_validate(r.model_dump())


async def _validated(st: ApiStore, frame_id: UUID, body: schemas_auth.CharacterRequestCreate,
                     proposer: UUID | None = None) -> dict[str, Any]:
    """The proposal as a scenario file's character. A player may name only the affiliations it
    may know exist (what it is listed: ``knowledge.known_affiliations``' rule, by RLS), so an
    unknown name and a secret one are refused alike: proposing is no oracle for hidden groups."""
    if proposer is None:
        affs = [a.name for a in await st.list_affiliations(frame_id)]
    else:
        async with st.as_user(proposer) as conn:
            affs = [a.name for a in await st.visible_affiliations(conn, frame_id)]
    taken = [c.name for c in await st.list_characters(frame_id)]
    spec = scenario.parse_character(body.model_dump(), affs, taken=taken)
    return spec.model_dump(include={"name", "universal", "internal", "external", "affiliations"})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas_auth.CharacterRequestPublic)
async def propose(frame_id: UUID, body: schemas_auth.CharacterRequestCreate, user: CurrentUser,
                  st: StoreDep, clock: ClockDep) -> schemas_auth.CharacterRequestPublic:
    """A player who joined by an open invite proposes a character (one pending at a time)."""
    member = await st.member(frame_id, user.id)
    if member is None:
        raise NotFound("frame not found", field="frame_id")
    invite = next((i for i in await st.list_invites(frame_id) if i.id == member["invite_id"]), None)
    if invite is None or invite.character_id is not None or invite.revoked_at is not None:
        raise Forbidden("only a player who joined by an open invite may propose a character", field="frame_id")
    doc = await _validated(st, frame_id, body, user.id)
    if any(r.status == "pending" for r in await st.character_requests(frame_id, user.id)):
        raise Conflict("you already have a character waiting for the GM", field="frame_id")
    async with st.transaction(lock_frame=frame_id) as conn:
        req = await st.insert_character_request(conn, frame_id, user.id, invite.id, doc, clock.now())
    return _public(req)


@router.get("", response_model=list[schemas_auth.CharacterRequestPublic])
async def list_requests(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas_auth.CharacterRequestPublic]:
    """GM: every request of the frame; a player: their own."""
    member = await st.member(frame_id, user.id)
    if member is None:
        raise NotFound("frame not found", field="frame_id")
    who = None if member["role"] == "gm" else user.id
    return [_public(r) for r in await st.character_requests(frame_id, who)]


@router.post("/{request_id}/approve", status_code=status.HTTP_201_CREATED, response_model=Approved)
async def approve(frame_id: UUID, request_id: UUID, body: schemas_auth.CharacterRequestDecision,
                  user: CurrentUser, st: StoreDep, clock: ClockDep) -> Approved:
    """GM: create the character (``edits``: the GM's version, validated the same way), played by
    the proposer, with its memberships."""
    async with st.as_gm(user.id, frame_id) as conn:
        req = await st.character_request(conn, frame_id, request_id)
        if req.status != "pending":
            raise Conflict(f"this request was already {req.status}", field="request_id")
        # validated again: the frame may have changed since (a name taken, a group gone)
        doc = await _validated(st, frame_id, body.edits or schemas_auth.CharacterRequestCreate.model_validate(req.body))
        edited = doc if body.edits else None
        taken = {c.handle for c in await st.list_characters(frame_id, conn=conn)}
        handle = scenario.make_handle(doc["name"], taken)
        ch = await st.create_character(conn, frame_id, name=doc["name"], handle=handle, user_id=req.user_id,
                                       universal=doc["universal"], internal=doc["internal"],
                                       external=doc["external"], model=None)
        affs = {a.name: a.id for a in await st.list_affiliations(frame_id, conn=conn)}
        for m in doc["affiliations"]:
            await st.set_membership(conn, frame_id, affs[m["name"]], ch.id, bool(m["hidden"]))
        done = await st.decide_character_request(conn, frame_id, request_id, status="approved", character_id=ch.id,
                                                 note=body.note, now=clock.now(), body=edited)
    cast = await public_cast(st, user, frame_id)
    return Approved(request=_public(done), character=next(c for c in cast if c.id == ch.id))


@router.post("/{request_id}/reject", response_model=schemas_auth.CharacterRequestPublic)
async def reject(frame_id: UUID, request_id: UUID, body: schemas_auth.CharacterRequestDecision,
                 user: CurrentUser, st: StoreDep, clock: ClockDep) -> schemas_auth.CharacterRequestPublic:
    async with st.as_gm(user.id, frame_id) as conn:
        await st.character_request(conn, frame_id, request_id)
        done = await st.decide_character_request(conn, frame_id, request_id, status="rejected",
                                                 character_id=None, note=body.note, now=clock.now(), body=None)
    return _public(done)
