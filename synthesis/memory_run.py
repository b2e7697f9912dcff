"""Writing a character's memory summary (synthesis/memory.py decides what and whether): read
what it witnessed, call the summarizer outside any transaction, guard the reply, append the row."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from synthesis import memory
from synthesis.llm.base import LLM
from synthesis.llm.registry import Registry
from synthesis.store import Store

log = logging.getLogger(__name__)


async def maybe_summarize(st: Store, llm: LLM, model: str, frame_id: UUID, character_id: UUID, *,
                          force: bool = False) -> dict[str, Any] | None:
    """Append version n+1 of the character's summary when it is due (or ``force``); the row
    written, or None. Idempotent under concurrency: a second writer of a version writes nothing."""
    state = await st.memory_due(frame_id, character_id)
    if not force and not memory.due(state["pending_chars"]):
        return None
    src = await st.memory_source(frame_id, character_id, state["through_seq"])
    if not src["solids"]:
        return None
    chars = await st.list_characters(frame_id)
    me = next(c for c in chars if c.id == character_id)
    latest = await st.memory_latest(frame_id, character_id) if state["version"] else None
    previous = str(latest["summary"]) if latest else ""
    lines = memory.source_lines(src, {str(c.id): c.name for c in chars})
    reply = await llm.complete(memory.summary_messages(me.name, previous, lines), model=model,
                               max_tokens=600, temperature=0.3)
    g = memory.boundary(character_id, chars, await st.list_affiliations(frame_id),
                        await st.list_memberships(frame_id), allowed=[previous, *lines])
    text, dropped = memory.clean(reply.text, g)
    if dropped:
        log.warning("memory summary redacted", extra={"action": "memory_redacted", "frame_id": str(frame_id),
                                                      "character_id": str(character_id), "redacted": dropped})
    if not text:
        return None
    return await st.memory_insert(
        frame_id, character_id, version=state["version"] + 1,
        through_seq=max(int(s["seq"]) for s in src["solids"]), summary=text,
        solids=[UUID(str(s["id"])) for s in src["solids"]],
        outcomes=[UUID(str(o["id"])) for o in src["outcomes"]], redacted=dropped, model=model)


async def after_synthesis(st: Store, registry: Registry, frame_id: UUID, character_id: UUID) -> None:
    """The worker's hook after a window routed: the soft role's (cheap) model writes the summary
    when it is due; a failed summary never fails the window (the next window retries it)."""
    try:
        llm, model, _ = registry.soft()
        await maybe_summarize(st, llm, model, frame_id, character_id)
    except Exception:  # logged; the summary is retried after the next window
        log.warning("memory summary failed", exc_info=True,
                    extra={"action": "memory_failed", "frame_id": str(frame_id), "character_id": str(character_id)})
