"""The author face's lorebook: ``POST/GET/PATCH/DELETE /frames/{id}/lore``. The GM writes; a
member reads the entries RLS lets it read (public ones, its characters' own, its affiliations'
including hidden memberships; the GM all). Every write is logged (``/frames/{id}/changes``) and
emits a ``frame`` event, in the same transaction; the next gather reads it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from api import schemas_lore
from api.deps import CurrentUser, StoreDep
from synthesis import lore
from synthesis.store import Connection
from synthesis.store_api import ApiStore

router = APIRouter(prefix="/frames/{frame_id}/lore", tags=["lore"])


async def references(st: ApiStore, frame_id: UUID, conn: Connection) -> tuple[list[str], dict[str, UUID]]:
    """The affiliation names and the character ids (by id, name and handle) an entry may name."""
    affs = await st.list_affiliations(frame_id, conn=conn)
    chars = await st.list_characters(frame_id, conn=conn)
    names: dict[str, UUID] = {}
    for c in chars:
        names.update({c.name: c.id, c.handle: c.id, str(c.id): c.id})
    return [a.name for a in affs], names


async def _checked(st: ApiStore, frame_id: UUID, conn: Connection, raw: dict[str, Any]) -> dict[str, Any]:
    affs, chars = await references(st, frame_id, conn)
    return lore.check(raw, affiliations=affs, characters=chars)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas_lore.LorePublic)
async def create_lore(frame_id: UUID, body: schemas_lore.LoreCreate, user: CurrentUser,
                      st: StoreDep) -> schemas_lore.LorePublic:
    """GM: add an entry."""
    async with st.as_gm(user.id, frame_id) as conn:
        entry = await _checked(st, frame_id, conn, body.model_dump())
        row = await st.insert_lore(conn, frame_id, entry, user.id)
        await st.log_change(conn, frame_id, "lore", user.id,
                            {"action": "create", "id": str(row.id), "title": row.title, "visibility": row.visibility})
        await st.frame_changed(conn, frame_id)
    return schemas_lore.lore_public(row)


@router.get("", response_model=list[schemas_lore.LorePublic])
async def list_lore(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[schemas_lore.LorePublic]:
    async with st.as_member(user.id, frame_id) as conn:
        rows = await st.list_lore(frame_id, conn=conn)
    return [schemas_lore.lore_public(r) for r in rows]


@router.get("/{lore_id}", response_model=schemas_lore.LorePublic)
async def get_lore(frame_id: UUID, lore_id: UUID, user: CurrentUser, st: StoreDep) -> schemas_lore.LorePublic:
    async with st.as_member(user.id, frame_id) as conn:
        return schemas_lore.lore_public(await st.get_lore(frame_id, lore_id, conn=conn))


@router.patch("/{lore_id}", response_model=schemas_lore.LorePublic)
async def update_lore(frame_id: UUID, lore_id: UUID, body: schemas_lore.LoreUpdate, user: CurrentUser,
                      st: StoreDep) -> schemas_lore.LorePublic:
    """GM: change an entry; the fields given replace the entry's."""
    async with st.as_gm(user.id, frame_id) as conn:
        old = await st.get_lore(frame_id, lore_id, conn=conn)
        given = body.model_dump(exclude_unset=True)
        merged = {"title": old.title, "text": old.body, "keywords": list(old.keywords),
                  "visibility": old.visibility, "always": old.always}
        merged.update({k: v for k, v in given.items() if v is not None})
        entry = await _checked(st, frame_id, conn, merged)
        row = await st.update_lore(conn, frame_id, lore_id, entry)
        await st.log_change(conn, frame_id, "lore", user.id,
                            {"action": "update", "id": str(row.id), "fields": sorted(given)})
        await st.frame_changed(conn, frame_id)
    return schemas_lore.lore_public(row)


@router.delete("/{lore_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lore(frame_id: UUID, lore_id: UUID, user: CurrentUser, st: StoreDep) -> Response:
    async with st.as_gm(user.id, frame_id) as conn:
        row = await st.delete_lore(conn, frame_id, lore_id)
        await st.log_change(conn, frame_id, "lore", user.id,
                            {"action": "delete", "id": str(row.id), "title": row.title})
        await st.frame_changed(conn, frame_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
