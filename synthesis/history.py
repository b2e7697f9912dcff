"""Long-play context for one gather (issue 16): the older items of the character's own history
its action recalls (``synthesis/recall.py`` decides which) and its latest memory summary
(``synthesis/memory.py``). Personal narrations only: a shared narration reads neither."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from synthesis import recall
from synthesis.store import Store


def personal(doc: dict[str, Any]) -> bool:
    return (doc["frame"] or {}).get("mode") != "shared" and (doc.get("window") or {}).get("scope") != "frame"


async def enrich(st: Store, doc: dict[str, Any]) -> None:
    """Add ``recalled`` and ``memory`` to a gather document (the latest summary came with the
    gather statement; recall is one to two indexed reads)."""
    doc["recalled"], doc["memory"] = [], None
    if personal(doc):
        doc["recalled"] = await recalled(st, doc)
        doc["memory"] = doc.get("memory_latest")


async def recalled(st: Store, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Older items of the character's own history this window's action recalls (personal
    narrations only; synthesis/recall.py decides which)."""
    me = UUID(str(doc["character_id"]))
    frame = doc["frame"] or {}
    action = " ".join(str(x.get("refined_text") or x.get("content") or "") for x in doc["my_liquid"]
                      if str(x.get("character_id")) == str(me))
    if not action.strip():
        return []
    shown = {UUID(str(s["id"])) for s in doc.get("recent_solid", [])}
    frame_id = UUID(str(frame["id"]))
    candidates = await st.recall_candidates(frame_id, me, action, skip_solids=list(shown))
    if not candidates:
        return []
    own, witnessed = await st.witnessed(frame_id, me)
    picked = recall.pick(candidates, own_solids=own, witnessed=witnessed, shown=shown,
                         latest=int(doc.get("snapshot_seq") or 0))
    return [{"kind": r.kind, "seq": r.seq, "item": r.item} for r in picked]
