"""Realtime feeds and the backlog: the frames with connected clients, what each has been sent,
and the per-frame pump that fans new events out by audience (DESIGN §7).

No gap, no duplicate: a client's queue is registered BEFORE its backlog (everything after
``since`` that it may see, read as the user so RLS decides) is read. Events dispatched before
registration were committed before it, so the backlog has them; events dispatched after it are
queued. Live messages with ``cursor <= last sent`` are dropped.

A slow client has a bounded queue; past it, the client is closed with 4408 and reconnects
with ``since``. Nothing here listens or polls: whoever learns that a frame has new events
(``api.realtime.Gateway``: its listener and its poll) calls ``kick``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import WebSocket, WebSocketDisconnect

from api import live, realtime_messages, ws_auth
from api.realtime_messages import Texts
from synthesis import store_api, telemetry
from synthesis.errors import MediumError
from synthesis.types import Event

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
BATCH = 500
SEND_TIMEOUT = 10.0
CLOSE_BAD_TOKEN, CLOSE_NOT_MEMBER, CLOSE_NO_FRAME, CLOSE_TOO_SLOW = 4401, 4403, 4404, 4408
# A queue item with a negative cursor closes the client: code = -cursor, reason = the text;
# one with cursor ``live.EPHEMERAL`` (0) is a narrative_delta, sent as is (api/live.py).


@dataclass(eq=False)
class Client:
    ws: WebSocket
    frame_id: UUID
    user_id: UUID
    role: str
    queue: asyncio.Queue[tuple[int, str]]
    sent: int = 0  # the last cursor this client has been sent (or skipped past)
    feed: Feed | None = None
    session: tuple[UUID, UUID] | None = None  # (frame_id, session_id) of an invite session's token

    def wants(self, ev: Event) -> bool:
        """The events RLS policy ``events_read``, in Python: GM all; else audience."""
        return self.role == "gm" or ev.audience is None or self.user_id in ev.audience


@dataclass(eq=False)
class Feed:
    """One frame with connected clients: what has been dispatched so far."""

    frame_id: UUID
    clients: set[Client] = field(default_factory=set)
    last_seq: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    broken: bool = False
    dirty: bool = False
    task: asyncio.Task[None] | None = None
    read_at: dict[int, float] = field(default_factory=dict)  # seq -> when the pump read it (fan-out metric)


class Feeds:
    """Every frame with connected clients (``feeds``), its clients and its pump.

    ``serve`` runs one client from its backlog to its disconnect; ``kick`` dispatches what a
    frame has beyond its last cursor. ``counters`` are the gateway's metrics."""

    def __init__(self, st: store_api.ApiStore, *, narrator: str, now: Callable[[], datetime],
                 queue_size: int = QUEUE_SIZE):
        self.st = st
        self.narrator = narrator
        self.now = now
        self.queue_size = queue_size
        self.feeds: dict[UUID, Feed] = {}
        self.counters = dict.fromkeys(
            ("notifications", "messages", "reconnects", "slow_closes", "poll_catchups", "deltas",
             "bad_deltas"), 0)

    def client_count(self, frame_id: UUID | None = None) -> int:
        if frame_id is not None:
            feed = self.feeds.get(frame_id)
            return len(feed.clients) if feed else 0
        return sum(len(f.clients) for f in self.feeds.values())

    def connections(self) -> dict[tuple[UUID, UUID], int]:
        """Open connections per (frame_id, user_id): what presence publishes."""
        counts: dict[tuple[UUID, UUID], int] = {}
        for feed in self.feeds.values():
            for client in feed.clients:
                key = (feed.frame_id, client.user_id)
                counts[key] = counts.get(key, 0) + 1
        return counts

    # --- one client ----------------------------------------------------------------------------

    async def serve(self, ws: WebSocket, frame_id: UUID, user_id: UUID, role: str, since: int,
                    session: tuple[UUID, UUID] | None = None) -> None:
        """Backlog after ``since``, then live messages, until the client goes away. ``session``:
        the token's session (closed with 4401 once a frame event finds it revoked)."""
        client = Client(ws, frame_id, user_id, role, asyncio.Queue(self.queue_size), sent=since,
                        session=session)
        await self._register(client)
        try:
            # A removal committed between the route's check and the registration above found no
            # client to close: ask again now that later removals will find it.
            role_now = (await self.st.member_roles(frame_id)).get(user_id)
            if role_now is None:
                await ws.close(code=CLOSE_NOT_MEMBER, reason="no longer a member of this frame")
                return
            client.role = role_now
            await self._catch_up(client)
            sender = asyncio.create_task(self._send_live(client))
            receiver = asyncio.create_task(ws_auth.drain(ws))
            done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for t in done:
                if not t.cancelled() and (exc := t.exception()) and not isinstance(
                        exc, WebSocketDisconnect | OSError | RuntimeError):
                    raise exc
        finally:
            self._unregister(client)

    async def _register(self, client: Client) -> None:
        feed = self.feeds.get(client.frame_id)
        if feed is None:
            feed = self.feeds[client.frame_id] = Feed(client.frame_id)
            client.feed = feed
            feed.clients.add(client)
            try:
                seqs = await self.st.frames_seq([client.frame_id])
                # every event <= this is committed, so the backlog read after this has it
                feed.last_seq = seqs.get(client.frame_id, 0)
            except BaseException:
                feed.broken = True
                self.feeds.pop(client.frame_id, None)
                raise
            finally:
                feed.ready.set()
        else:
            client.feed = feed
            feed.clients.add(client)
            await feed.ready.wait()
            if feed.broken:
                raise MediumError("realtime feed unavailable")

    def _unregister(self, client: Client) -> None:
        feed = client.feed
        if feed is None:
            return
        feed.clients.discard(client)
        if not feed.clients and feed.ready.is_set() and self.feeds.get(client.frame_id) is feed:
            del self.feeds[client.frame_id]
            if feed.task:
                feed.task.cancel()

    async def _catch_up(self, client: Client) -> None:
        while True:
            async with self.st.as_user(client.user_id) as conn:
                events = await self.st.events_since(client.frame_id, client.sent, limit=BATCH, conn=conn)
                messages = await self._messages(client.frame_id, events, conn=conn)
            for ev, texts in messages:
                await self._send(client, texts[client.role])
                client.sent = ev.seq
            if events:
                client.sent = max(client.sent, events[-1].seq)
            if len(events) < BATCH:
                return

    async def _send_live(self, client: Client) -> None:
        while True:
            cursor, text = await client.queue.get()
            if cursor < 0:
                await client.ws.close(-cursor, text)
                return
            if cursor == live.EPHEMERAL:  # a narrative_delta: sent as is, moving no cursor
                await self._send(client, text)
                continue
            if cursor <= client.sent:
                continue  # already sent with the backlog
            await self._send(client, text)
            client.sent = cursor
            if client.feed is not None and (read := client.feed.read_at.get(cursor)) is not None:
                telemetry.FANOUT.observe(time.perf_counter() - read)

    async def _send(self, client: Client, text: str) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):  # no task per send, unlike wait_for on 3.11
                await client.ws.send_text(text)
        except TimeoutError:
            self.counters["slow_closes"] += 1
            with contextlib.suppress(Exception):
                await client.ws.close(CLOSE_TOO_SLOW, "too slow: reconnect with since")
            raise WebSocketDisconnect(CLOSE_TOO_SLOW) from None

    # --- the frame feed ------------------------------------------------------------------------

    def kick(self, frame_id: UUID) -> None:
        """Dispatch whatever the frame has beyond its last cursor (one pump per frame)."""
        feed = self.feeds.get(frame_id)
        if feed is None:
            return
        feed.dirty = True
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._pump(feed), name=f"gateway-pump-{frame_id}")

    async def _pump(self, feed: Feed) -> None:
        await feed.ready.wait()
        try:
            while feed.dirty and not feed.broken:
                feed.dirty = False
                while True:
                    events = await self.st.events_since(feed.frame_id, feed.last_seq, limit=BATCH)
                    if not events:
                        break
                    read = time.perf_counter()
                    if any(ev.type == "frame" for ev in events):  # members or roles may have changed
                        await self._recheck_members(feed)
                    messages = await self._messages(feed.frame_id, events)
                    # no await from here to the cursor update: a client registering meanwhile
                    # is either in this fan-out or its backlog reads these committed events
                    for ev, texts in messages:
                        feed.read_at[ev.seq] = read
                        self._fan_out(feed, ev, texts)
                    feed.last_seq = events[-1].seq
                    if len(feed.read_at) > 4 * BATCH:  # keep the recent ones (clients lag a queue at most)
                        feed.read_at = {k: v for k, v in feed.read_at.items() if k > feed.last_seq - 2 * BATCH}
                    if len(events) < BATCH:
                        break
        except Exception as exc:  # the poll retries
            log.warning("gateway pump failed", exc_info=not isinstance(exc, MediumError), extra={
                "action": "gateway_pump", "frame_id": str(feed.frame_id), "error": str(exc)})

    def _fan_out(self, feed: Feed, ev: Event, texts: Texts) -> None:
        for client in list(feed.clients):
            if not client.wants(ev):
                continue
            try:
                client.queue.put_nowait((ev.seq, texts[client.role]))
                self.counters["messages"] += 1
            except asyncio.QueueFull:
                self._evict(feed, client)

    def _evict(self, feed: Feed, client: Client) -> None:
        """Too slow: stop feeding it, drop what it has queued, and close it with 4408."""
        self.counters["slow_closes"] += 1
        self._close(feed, client, CLOSE_TOO_SLOW, "too slow: reconnect with since")
        log.info("slow websocket client closed", extra={
            "action": "ws_slow_close", "frame_id": str(feed.frame_id), "user_id": str(client.user_id)})

    def _close(self, feed: Feed, client: Client, code: int, reason: str) -> None:
        """Stop feeding it, drop what it has queued, and have its sender close it."""
        feed.clients.discard(client)
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait((-code, reason))

    async def _recheck_members(self, feed: Feed) -> None:
        """A frame event may be a membership change or a revoked session: a removed member's
        sockets are closed with 4403, a revoked session's with 4401, and a changed role applies
        from this batch on (authorisation is not only at connect)."""
        roles = await self.st.member_roles(feed.frame_id)
        for client in list(feed.clients):
            role = roles.get(client.user_id)
            if role is None:
                self._close(feed, client, CLOSE_NOT_MEMBER, "no longer a member of this frame")
                log.info("websocket closed: member removed", extra={
                    "action": "ws_member_removed", "frame_id": str(feed.frame_id),
                    "user_id": str(client.user_id)})
            else:
                client.role = role
        sessions = [c.session for c in feed.clients if c.session is not None]
        revoked = await self.st.revoked_sessions(sessions) if sessions else set()
        for client in list(feed.clients):  # the members that remain
            if client.session is not None and client.session[1] in revoked:
                self._close(feed, client, CLOSE_BAD_TOKEN, "the session was revoked")

    async def _messages(self, frame_id: UUID, events: list[Event], *, conn: Any = None
                        ) -> list[tuple[Event, Texts]]:
        return await realtime_messages.messages(self.st, frame_id, events, narrator=self.narrator,
                                                now=self.now, conn=conn)

