"""``POST /frames/{id}/characters/import``: a character card (V2 JSON, or a PNG with the card
embedded) becomes a character, and its character book lore only it may know. The mapping is
``synthesis/cards.py``'s; a bad card is a 422 naming the field, and writes nothing."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from api import schemas
from api.deps import CurrentUser, StoreDep
from api.routes.characters import _one, public_cast
from synthesis import cards, lore, scenario
from synthesis.errors import Conflict

router = APIRouter(prefix="/frames/{frame_id}/characters", tags=["characters"])
CARD_PATH = "/characters/import"
CARD_MAX_BYTES = 8 * 1024 * 1024  # PNG cards are images; the rest of the API keeps 64 KiB
PlayerQuery = Query(default=None, description="the player; omit for an NPC")
HandleQuery = Query(default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
CARD_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description": "a chara_card_v2 card"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=schemas.CharacterPublic,
             openapi_extra=CARD_BODY)
async def import_card(frame_id: UUID, request: Request, user: CurrentUser, st: StoreDep,
                      user_id: UUID | None = PlayerQuery, handle: str | None = HandleQuery
                      ) -> schemas.CharacterPublic:
    """GM: create a character from a card (the body: the card's JSON, or its PNG)."""
    body = await request.body()
    async with st.as_gm(user.id, frame_id) as conn:
        mapped = cards.map_card(cards.read(body))
        taken = {c.handle for c in await st.list_characters(frame_id, conn=conn)}
        if handle and handle in taken:
            raise Conflict(f"handle {handle!r} is taken in this frame", field="handle")
        ch = await st.create_character(conn, frame_id, name=mapped["name"],
                                       handle=handle or scenario.make_handle(mapped["name"], taken),
                                       user_id=user_id, universal=mapped["universal"],
                                       internal=mapped["internal"], external=mapped["external"], model=None)
        for entry in mapped["lore"]:
            checked = lore.check({**entry, "visibility": f"character:{ch.id}"}, affiliations=[],
                                 characters={str(ch.id): ch.id})
            await st.insert_lore(conn, frame_id, checked, user.id)
        if mapped["lore"]:
            await st.log_change(conn, frame_id, "lore", user.id,
                                {"action": "import_card", "character_id": str(ch.id), "entries": len(mapped["lore"])})
    return _one(await public_cast(st, user, frame_id), ch.id)
