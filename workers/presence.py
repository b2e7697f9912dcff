"""NPC presence: whether a human is connected to a frame, which is what lets its NPC actors act.

Each realtime gateway (one per API process) publishes, every ``PUBLISH_SECONDS``, how many
WebSocket connections it holds per (frame, user) through ``Store.set_presence``; a pair that
has gone away is published once more with zero. The actors (``workers/actors.py``, through
the ``actor_candidates`` query) act in a frame while some row of it is younger than
``PRESENCE_TTL`` with connections, so a gateway that dies stops counting within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from synthesis.errors import MediumError

PUBLISH_SECONDS = 10.0
PRESENCE_TTL = 60.0  # must stay well above PUBLISH_SECONDS

Counts = dict[tuple[UUID, UUID], int]  # (frame_id, user_id) -> open connections


class PresenceStore(Protocol):
    async def set_presence(self, frame_id: UUID, user_id: UUID, gateway: str, connections: int,
                           now: datetime) -> None: ...


def gateway_name() -> str:
    """This process, as presence rows name it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def publish(st: PresenceStore, counts: Callable[[], Counts], now: Callable[[], datetime], *,
                  gateway: str | None = None, every: float = PUBLISH_SECONDS) -> None:
    """Publish ``counts()`` every ``every`` seconds until cancelled, the first time at once.
    A database error skips that row until the next round."""
    name = gateway or gateway_name()
    published: set[tuple[UUID, UUID]] = set()
    while True:
        current = counts()
        at = now()
        for key in published | set(current):
            with contextlib.suppress(MediumError):
                await st.set_presence(key[0], key[1], name, current.get(key, 0), at)
        published = set(current)
        await asyncio.sleep(every)
