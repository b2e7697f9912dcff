"""``narrative_delta``: the live narrative, for its owner and the GM only (issue 12, item 7).

A worker's live synthesis sends each batch of narrative text as a NOTIFY on
``narrative_stream.DELTA_CHANNEL`` (``{frame_id, window_id, character_id, user_id, seq, text}``).
The gateway's listener hands the payload to ``deliver``, which queues
``{"type": "narrative_delta", "cursor": <the client's cursor>, "data": {window_id,
character_id, seq, text}}`` for the frame's GM clients and the clients of ``user_id``, and no
one else (an NPC's narrative: the GM only). Deltas are ephemeral: they are not events, are
never in a catch-up, move no cursor, and are dropped (not queued, nobody evicted) when a
client's queue is full. The final ``narrative`` message stays authoritative.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

log = logging.getLogger(__name__)

EPHEMERAL = 0  # the queue cursor of a message sent as is, never replayed, moving no cursor


class LiveClient(Protocol):
    user_id: UUID
    role: str
    sent: int
    queue: asyncio.Queue[tuple[int, str]]


def parse(payload: str) -> dict[str, Any] | None:
    """The NOTIFY payload, validated; None for anything malformed."""
    try:
        doc = json.loads(payload)
        return {"frame_id": UUID(doc["frame_id"]), "window_id": str(UUID(doc["window_id"])),
                "character_id": str(UUID(doc["character_id"])),
                "user_id": UUID(doc["user_id"]) if doc.get("user_id") else None,
                "seq": int(doc["seq"]), "text": str(doc["text"])}
    except (ValueError, KeyError, TypeError):
        log.warning("bad narrative_delta payload", extra={"action": "delta_payload", "payload": payload[:200]})
        return None


def deliver(doc: dict[str, Any], clients: Iterable[LiveClient]) -> int:
    """Queue the delta for the owner's and the GM's clients; returns how many got it."""
    data = {k: doc[k] for k in ("window_id", "character_id", "seq", "text")}
    n = 0
    for client in clients:
        if client.role != "gm" and client.user_id != doc["user_id"]:
            continue
        text = json.dumps({"type": "narrative_delta", "cursor": client.sent, "data": data},
                          separators=(",", ":"))
        try:
            client.queue.put_nowait((EPHEMERAL, text))
            n += 1
        except asyncio.QueueFull:
            pass  # ephemeral: a slow client misses a preview, never the narrative
    return n
