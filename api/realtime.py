"""The realtime gateway: ``WS /frames/{id}/ws?token=…&since=<cursor>`` (DESIGN §7).

One dedicated LISTEN connection per API process, on ``medium_events_v1`` and
``medium_narrative_delta_v1``, whatever the number of clients. An events NOTIFY carries
``{frame_id, seq}``; the gateway then reads the frame's new ``events`` rows in batches and the
rows they name, once per batch, and fans each message out by the event's audience: outcomes
and frame events to every member, a narrative, timer or liquid event to its audience (its own
user), everything to the GM. A delta NOTIFY (a narrative chunk while a Medium writes it) goes
straight to the owner's and the GM's sockets of that frame (``api.live``): ephemeral, no
event, no cursor, nothing to replay after a reconnect.

Where things live: the feeds, each client's backlog and the fan-out are ``api.realtime_feeds``
(with the no-gap, no-duplicate contract); the message texts are ``api.realtime_messages``
(the REST serializers); NPC presence publishing is ``workers.presence``. This module wires
them to the process: the listener, the poll and the lifecycle.

No silent loss: the listener (``synthesis.listener``) reconnects with backoff and then replays
every watched frame from its last cursor; a poll every ``poll_seconds`` catches up any frame
whose ``event_seq`` is ahead of what was dispatched (a lost NOTIFY, or the listener down).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from api import live
from api.realtime_feeds import CLOSE_BAD_TOKEN, CLOSE_NO_FRAME, CLOSE_NOT_MEMBER, QUEUE_SIZE, Feeds
from synthesis import store_api
from synthesis.errors import MediumError
from synthesis.listener import Listener
from synthesis.narrative_stream import DELTA_CHANNEL
from workers import presence

# The close codes the WebSocket route uses, re-exported with the gateway.
__all__ = ["CHANNEL", "CLOSE_BAD_TOKEN", "CLOSE_NOT_MEMBER", "CLOSE_NO_FRAME", "Gateway"]

log = logging.getLogger(__name__)

CHANNEL = "medium_events_v1"
APPLICATION_NAME = "medium-gateway"
POLL_SECONDS = 2.0


class Gateway(Feeds):
    """``Feeds`` plus what one API process runs beside them: the listener, the poll fallback
    and presence publishing. ``start()`` starts them; ``stop()`` is idempotent."""

    def __init__(self, st: store_api.ApiStore, *, dsn: str | None, narrator: str,
                 now: Callable[[], datetime], queue_size: int = QUEUE_SIZE,
                 poll_seconds: float = POLL_SECONDS):
        super().__init__(st, narrator=narrator, now=now, queue_size=queue_size)
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        # No health check: the termination callback and the poll suffice, and LISTEN stays the
        # connection's last statement (how pg_stat_activity shows the gateway).
        self.listener = Listener(dsn, CHANNEL, self._on_notify, more={DELTA_CHANNEL: self._on_delta},
                                 on_connect=self._on_listen, name="gateway",
                                 application_name=APPLICATION_NAME, health_seconds=None) if dsn else None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def listener_pid(self) -> int | None:
        """The server pid of the LISTEN connection while it is up."""
        return self.listener.pid if self.listener else None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.listener is not None:
            self._tasks.append(asyncio.create_task(self.listener.run(), name="gateway-listener"))
        else:
            log.warning("no database URL for the gateway listener; polling only",
                        extra={"action": "gateway_poll_only"})
        self._tasks.append(asyncio.create_task(self._poll(), name="gateway-poll"))
        self._tasks.append(asyncio.create_task(
            presence.publish(self.st, self.connections, self.now), name="gateway-presence"))

    async def stop(self) -> None:
        """Idempotent: stop the side tasks and close every client (1001, going away)."""
        tasks = self._tasks + [f.task for f in self.feeds.values() if f.task]
        self._tasks = []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for feed in list(self.feeds.values()):
            for client in list(feed.clients):
                with contextlib.suppress(Exception):
                    await client.ws.close(1001, "server shutting down")

    # --- listener and poll ---------------------------------------------------------------------

    def _on_listen(self) -> None:
        """After every (re)connect: replay each frame from its last cursor."""
        if self.listener is None:  # the listener calls this hook, so it exists
            return
        if self.listener.connects > 1:
            self.counters["reconnects"] += 1
        for frame_id in list(self.feeds):
            self.kick(frame_id)

    def _on_notify(self, payload: str) -> None:
        self.counters["notifications"] += 1
        try:
            doc = json.loads(payload)
            frame_id, seq = UUID(doc["frame_id"]), int(doc["seq"])
        except (ValueError, KeyError, TypeError):
            log.warning("bad realtime payload", extra={"action": "gateway_payload", "payload": payload[:200]})
            return
        feed = self.feeds.get(frame_id)
        if feed is not None and seq > feed.last_seq:
            self.kick(frame_id)

    def _on_delta(self, payload: str) -> None:
        """A narrative chunk: queued at once for the frame's owner and GM sockets; a bad
        payload is logged (``live.parse``) and dropped."""
        doc = live.parse(payload)
        if doc is None:
            self.counters["bad_deltas"] += 1
            return
        feed = self.feeds.get(doc["frame_id"])
        if feed is not None:
            self.counters["deltas"] += live.deliver(doc, list(feed.clients))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            ready = [fid for fid, f in self.feeds.items() if f.ready.is_set() and not f.broken]
            if not ready:
                continue
            try:
                seqs = await self.st.frames_seq(ready)
            except MediumError:
                continue
            for frame_id, seq in seqs.items():
                feed = self.feeds.get(frame_id)
                if feed is not None and seq > feed.last_seq and not (feed.task and not feed.task.done()):
                    self.counters["poll_catchups"] += 1
                    self.kick(frame_id)
