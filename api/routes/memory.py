"""``GET /frames/{id}/memory``: the GM reads every character's memory summaries, every version
(synthesis/memory.py). Players never read them: a summary carries its character's secrets."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentUser, StoreDep

router = APIRouter(prefix="/frames/{frame_id}", tags=["gm"])


class MemoryPublic(BaseModel):
    id: UUID
    character_id: UUID
    version: int
    through_seq: int
    summary: str
    source_solid_ids: list[UUID]
    source_outcome_ids: list[UUID]
    redacted: int
    model: str
    created_at: datetime | None = None


@router.get("/memory", response_model=list[MemoryPublic])
async def list_memory(frame_id: UUID, user: CurrentUser, st: StoreDep) -> list[MemoryPublic]:
    async with st.as_gm(user.id, frame_id) as conn:
        rows = await st.memory_list(frame_id, conn=conn)
    return [MemoryPublic.model_validate(r) for r in rows]
