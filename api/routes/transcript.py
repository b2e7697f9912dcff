"""``GET /frames/{id}/transcript.md``: my story as Markdown (the GM: every character's). Read as
the user, so RLS decides which narratives it holds."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from api.deps import CurrentUser, StoreDep
from synthesis import transcript
from synthesis.errors import NotFound

router = APIRouter(prefix="/frames/{frame_id}", tags=["reading"])
PAGE = 1000


@router.get("/transcript.md", response_class=PlainTextResponse,
            responses={200: {"content": {"text/markdown": {}}}})
async def transcript_md(frame_id: UUID, user: CurrentUser, st: StoreDep) -> PlainTextResponse:
    async with st.as_member(user.id, frame_id) as conn:
        gm = await st.my_role(conn, frame_id) == "gm"
        frame = await st.get_frame(frame_id, conn=conn)
        characters, _ = await st.visible_cast(conn, frame_id)
        solids, since = [], 0
        while True:
            page = await st.solids(frame_id, since=since, limit=PAGE, conn=conn)
            solids += page
            if len(page) < PAGE:
                break
            since = page[-1].seq
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    text = transcript.render(frame, solids, {c.id: c.name for c in characters}, gm=gm)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
