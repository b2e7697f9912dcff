"""Submitting liquid: one code path for the API, ``medium submit`` and NPC actors.

Validate → soft analysis (outside any transaction) → insert (as the user when there is one,
so RLS applies) → optionally commit, which opens or joins the character's window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from synthesis import soft
from synthesis.errors import InvalidInput, NotFound
from synthesis.llm.registry import Registry
from synthesis.store import Store
from synthesis.types import Character, Frame, LiquidEntry, SoftAnalysis

CONTENT_CAP = 2000


def validate_content(content: object) -> str:
    if not isinstance(content, str):
        raise InvalidInput("content must be a string", field="content")
    text = content.strip()
    if not text:
        raise InvalidInput("content is empty", field="content")
    if len(content) > CONTENT_CAP:
        raise InvalidInput(f"content is {len(content)} characters; the limit is {CONTENT_CAP}",
                           field="content")
    return text


@dataclass(frozen=True)
class Submission:
    liquid: LiquidEntry
    analysis: SoftAnalysis


async def analyse(registry: Registry | None, frame: Frame, character: Character,
                  cast: list[Character], text: str, *, time_scale: float) -> SoftAnalysis:
    llm, model = (None, "")
    if registry is not None:
        llm, model, _ = registry.soft()
    return await soft.analyse(llm, text, character, cast, model=model,
                              overrides=frame.pscale_windows, time_scale=time_scale)


async def submit(st: Store, registry: Registry | None, *, frame_id: UUID, character_id: UUID,
                 content: str, now: datetime, user_id: UUID | None = None, commit: bool = False,
                 time_scale: float = 1.0, pscale: int | None = None) -> Submission:
    """Submit (and optionally commit) an action. ``user_id`` set: runs as that user (RLS).
    ``pscale`` given: skips the soft model (scripted players / NPC actors with a known scale)."""
    text = validate_content(content)
    frame = await st.get_frame(frame_id)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    cast = await st.list_characters(frame_id)
    character = next((c for c in cast if c.id == character_id), None)
    if character is None:
        raise NotFound("character not found in this frame", field="character_id")
    if pscale is not None:
        analysis = soft.fallback(text, character, cast, overrides=frame.pscale_windows,
                                 time_scale=time_scale, pscale=pscale)
    else:
        analysis = await analyse(registry, frame, character, cast, text, time_scale=time_scale)
    ctx = st.as_user(user_id) if user_id is not None else st.transaction()
    async with ctx as conn:
        liq = await st.insert_liquid(
            conn, frame_id=frame_id, character_id=character_id, user_id=user_id, content=text,
            refined_text=analysis.refined_text or None, pscale=analysis.pscale,
            timer_duration=analysis.timer_duration, interruptive=analysis.interruptive,
            interrupt_targets=analysis.interrupt_targets, soft_source=analysis.source,
            soft_note=analysis.note, now=now)
        if commit:
            liq = await st.commit_liquid(conn, frame_id, liq.id, now)
    return Submission(liq, analysis)
