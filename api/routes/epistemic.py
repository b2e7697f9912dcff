"""The epistemic view (issue 15, item 7), GM only: what one character knows, layer by layer
and with each fact's source, what is withheld from it and why, and its latest directive; and
the GM's per-character overrides (add a fact, redact one). The view and the prompt come from
one walk, ``synthesis.knowledge.epistemic``; the overrides reach every later gather."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api import schemas_gm
from api.deps import ClockDep, CurrentUser, RegistryDep, StoreDep
from synthesis import knowledge, medium
from synthesis.errors import InvalidInput, NotFound
from synthesis.store import Connection
from synthesis.store_api import ApiStore
from synthesis.types import Character
from synthesis.types_epistemic import Epistemic, KnowledgeOverride

router = APIRouter(prefix="/frames/{frame_id}/characters/{character_id}", tags=["gm"])


async def _view(st: ApiStore, frame_id: UUID, character_id: UUID, *, conn: Connection | None = None
                ) -> tuple[Character, Epistemic, list[KnowledgeOverride]]:
    """The character, its epistemic view and the overrides in it; no such character → 404."""
    cast = await st.list_characters(frame_id, conn=conn)
    me = next((c for c in cast if c.id == character_id), None)
    if me is None:
        raise NotFound("character not found", field="character_id")
    affs = await st.list_affiliations(frame_id, conn=conn)
    mems = await st.list_memberships(frame_id, conn=conn)
    overrides = await st.knowledge_overrides(frame_id, character_id, conn=conn)
    return me, knowledge.epistemic(character_id, cast, affs, mems, overrides), overrides


@router.get("/epistemic", response_model=schemas_gm.EpistemicPublic)
async def epistemic(frame_id: UUID, character_id: UUID, user: CurrentUser, st: StoreDep,
                    registry: RegistryDep) -> schemas_gm.EpistemicPublic:
    """What this character knows and why, what it does not and why, and its directive now."""
    async with st.as_gm(user.id, frame_id):
        pass
    me, view, overrides = await _view(st, frame_id, character_id)
    frame = await st.get_frame(frame_id)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    directive = await medium.preview(st, registry, frame_id, character_id)
    return schemas_gm.EpistemicPublic(character_id=me.id, name=me.name, mode=frame.mode, known=view.known,
                                      withheld=view.withheld, overrides=overrides, directive=directive)


@router.post("/knowledge", status_code=status.HTTP_201_CREATED, response_model=KnowledgeOverride)
async def change_knowledge(frame_id: UUID, character_id: UUID, body: schemas_gm.KnowledgeChange,
                           user: CurrentUser, st: StoreDep, clock: ClockDep) -> KnowledgeOverride:
    """Add a fact to this character's knowledge, or redact one it knows (by text or fact id)."""
    if (body.add is None) == (body.redact is None):
        raise InvalidInput("give exactly one of add and redact", field="add")
    if body.add is not None and not body.add:
        raise InvalidInput("add is empty", field="add")
    if body.redact is not None and not body.redact:
        raise InvalidInput("redact is empty", field="redact")
    async with st.as_gm(user.id, frame_id) as conn:
        _, view, _ = await _view(st, frame_id, character_id, conn=conn)
        if body.add is not None:
            return await st.add_knowledge_override(conn, frame_id, character_id, "add", body.add, None,
                                                   user.id, clock.now())
        named = [f for f in view.known if f.id == body.redact] or [
            f for f in view.known if f.fact == body.redact]
        if not named:
            raise InvalidInput("redact names no fact this character knows", field="redact")
        if len(named) > 1:
            raise InvalidInput("redact's text is more than one fact this character knows: give its id",
                               field="redact")
        fact = named[0]
        if fact.override_id is not None:
            raise InvalidInput("that fact is the GM's own addition: delete its override instead",
                               field="redact")
        return await st.add_knowledge_override(conn, frame_id, character_id, "redact", "", fact.id,
                                               user.id, clock.now())


@router.delete("/knowledge/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_override(frame_id: UUID, character_id: UUID, override_id: UUID, user: CurrentUser,
                          st: StoreDep) -> Response:
    """Remove one override: the character knows again what it knew before it."""
    async with st.as_gm(user.id, frame_id) as conn:
        if await st.delete_knowledge_override(conn, frame_id, character_id, override_id) is None:
            raise NotFound("override not found", field="override_id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
