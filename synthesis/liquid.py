"""Submitting liquid: one code path for the API, ``medium submit`` and NPC actors.

Validate → soft analysis (outside any transaction) → insert (as the user when there is one,
so RLS applies) → optionally commit, which opens or joins the character's window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from synthesis import soft
from synthesis.errors import Conflict, InvalidInput, NotFound
from synthesis.llm.registry import Registry
from synthesis.store import Store, Tx
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


CLIENT_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def validate_client_key(key: object) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not CLIENT_KEY.match(key):
        raise InvalidInput("client_key must be 1 to 128 of A-Z a-z 0-9 . _ : -", field="client_key")
    return key


@dataclass(frozen=True)
class Submission:
    liquid: LiquidEntry
    analysis: SoftAnalysis
    replayed: bool = False  # the client_key was seen before: this is the earlier submission


def analysis_of(liq: LiquidEntry) -> SoftAnalysis:
    """The soft analysis recorded on a liquid row."""
    return SoftAnalysis(pscale=liq.pscale, timer_duration=liq.timer_duration,
                        interruptive=liq.interruptive, interrupt_targets=liq.interrupt_targets,
                        refined_text=liq.refined_text or "", source=liq.soft_source, note=liq.soft_note)


async def analyse(registry: Registry | None, frame: Frame, character: Character,
                  cast: list[Character], text: str, *, time_scale: float) -> SoftAnalysis:
    llm, model, timeout = (None, "", soft.SOFT_TIMEOUT)
    mode: soft.SoftMode = "auto"
    if registry is not None:
        llm, model, _ = registry.soft()
        timeout = registry.soft_timeout(llm)  # a queued local call takes far longer than 5 s
        mode = registry.settings.medium_soft_mode
    return await soft.analyse(llm, text, character, cast, model=model, timeout=timeout,
                              overrides=frame.pscale_windows, time_scale=time_scale, mode=mode)


async def submit(st: Store, registry: Registry | None, *, frame_id: UUID, character_id: UUID,
                 content: str, now: datetime, user_id: UUID | None = None, commit: bool = False,
                 time_scale: float = 1.0, pscale: int | None = None,
                 client_key: str | None = None) -> Submission:
    """Submit (and optionally commit) an action. ``user_id`` set: runs as that user (RLS).
    ``pscale`` given: skips the soft model (scripted players / NPC actors with a known scale).
    ``client_key`` given: a retry with the same key returns the first submission (committing it
    if this call asks to and it is still a draft) instead of adding a second action."""
    text = validate_content(content)
    key = validate_client_key(client_key)
    frame = await st.get_frame(frame_id)
    if frame is None:
        raise NotFound("frame not found", field="frame_id")
    cast = await st.list_characters(frame_id)
    character = next((c for c in cast if c.id == character_id), None)
    if character is None:
        raise NotFound("character not found in this frame", field="character_id")
    if key is not None:  # a retry is answered before paying for a second soft analysis
        async with st.session(user_id) as conn:
            prior = await st.find_liquid_by_key(conn, frame_id, character_id, key)
            if prior is not None:
                return await _replay(st, conn, prior, text, commit, now)
    if pscale is not None:
        analysis = soft.fallback(text, character, cast, overrides=frame.pscale_windows,
                                 time_scale=time_scale, pscale=pscale)
    else:
        if registry is not None:
            await registry.refresh(st)  # a `soft` role row in `models`
        analysis = await analyse(registry, frame, character, cast, text, time_scale=time_scale)
    async with st.session(user_id, lock_frame=frame_id) as conn:
        liq = await st.insert_liquid(
            conn, frame_id=frame_id, character_id=character_id, user_id=user_id, content=text,
            refined_text=analysis.refined_text or None, pscale=analysis.pscale,
            timer_duration=analysis.timer_duration, interruptive=analysis.interruptive,
            interrupt_targets=analysis.interrupt_targets, soft_source=analysis.source,
            soft_note=analysis.note, now=now, client_key=key)
        if liq is None:  # a concurrent retry with the same key inserted first
            if key is None:  # only a keyed insert can lose a race
                raise RuntimeError("liquid insert returned no row without a client key")
            prior = await st.find_liquid_by_key(conn, frame_id, character_id, key)
            if prior is None:
                raise Conflict("client_key is in use by a submission that is not visible to you",
                               field="client_key")
            return await _replay(st, conn, prior, text, commit, now)
        if commit:  # the commit announces it (liquid + timer events)
            liq = await st.commit_liquid(conn, frame_id, liq.id, now)
        else:  # a draft is visible intent: announce it in the same transaction
            await st.emit(conn, frame_id, [("liquid", liq.id, [user_id] if user_id else [])])
    return Submission(liq, analysis)


async def _replay(st: Store, conn: Tx, prior: LiquidEntry, text: str, commit: bool,
                  now: datetime) -> Submission:
    if prior.content != text:
        raise Conflict("client_key was already used for a different action", field="client_key")
    if commit and prior.status == "submitted":
        prior = await st.commit_liquid(conn, prior.frame_id, prior.id, now)
    return Submission(prior, analysis_of(prior), replayed=True)
