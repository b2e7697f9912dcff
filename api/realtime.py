"""The realtime gateway: ``WS /frames/{id}/ws?token=…&since=<cursor>`` (DESIGN §7).

One dedicated LISTEN connection per API process, on ``medium_events_v1``, whatever the number
of clients. A NOTIFY carries ``{frame_id, seq}``; the gateway then reads the frame's new
``events`` rows in batches and the rows they name, once per batch, and fans each message out
by the event's audience: outcomes and frame events to every member, a narrative, timer or
liquid event to its audience (its own user), everything to the GM. ``data`` is built by the
same serializers REST uses.

No gap, no duplicate: a client's queue is registered BEFORE its backlog (everything after
``since`` that it may see, read as the user so RLS decides) is read. Events dispatched before
registration were committed before it, so the backlog has them; events dispatched after it are
queued. Live messages with ``cursor <= last sent`` are dropped.

No silent loss: the listener reconnects with backoff and then replays every watched frame from
its last cursor; a poll every ``poll_seconds`` catches up any frame whose ``event_seq`` is
ahead of what was dispatched (a lost NOTIFY, or the listener down). A slow client has a bounded
queue; past it, the client is closed with 4408 and reconnects with ``since``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import WebSocket, WebSocketDisconnect

from api import schemas
from synthesis import store, store_api
from synthesis.errors import MediumError
from synthesis.types import Event, Frame, LiquidEntry, OutcomeRow, Row, SolidRow, Window

log = logging.getLogger(__name__)

CHANNEL = "medium_events_v1"
APPLICATION_NAME = "medium-gateway"
QUEUE_SIZE = 1000
BATCH = 500
POLL_SECONDS = 2.0
SEND_TIMEOUT = 10.0
CLOSE_BAD_TOKEN, CLOSE_NOT_MEMBER, CLOSE_NO_FRAME, CLOSE_TOO_SLOW = 4401, 4403, 4404, 4408
# A queue item with a negative cursor closes the client: code = -cursor, reason = the text.

Texts = dict[str, str]  # role ("gm" / "player") -> the message text


PRESENCE_SECONDS = 10.0


@dataclass(eq=False)
class Client:
    ws: WebSocket
    frame_id: UUID
    user_id: UUID
    role: str
    queue: asyncio.Queue[tuple[int, str]]
    sent: int = 0  # the last cursor this client has been sent (or skipped past)
    feed: Feed | None = None

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


class Gateway:
    def __init__(self, st: store_api.ApiStore, *, dsn: str | None, narrator: str,
                 now: Callable[[], datetime], queue_size: int = QUEUE_SIZE,
                 poll_seconds: float = POLL_SECONDS):
        self.st = st
        self.dsn = dsn
        self.narrator = narrator
        self.now = now
        self.queue_size = queue_size
        self.poll_seconds = poll_seconds
        self.feeds: dict[UUID, Feed] = {}
        self.counters = dict.fromkeys(
            ("notifications", "messages", "reconnects", "slow_closes", "poll_catchups"), 0)
        self.listener_pid: int | None = None
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connected_once = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.dsn:
            self._tasks.append(asyncio.create_task(self._listen(), name="gateway-listener"))
        else:
            log.warning("no database URL for the gateway listener; polling only",
                        extra={"action": "gateway_poll_only"})
        self._tasks.append(asyncio.create_task(self._poll(), name="gateway-poll"))
        self._tasks.append(asyncio.create_task(self._presence(), name="gateway-presence"))

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

    def client_count(self, frame_id: UUID | None = None) -> int:
        if frame_id is not None:
            feed = self.feeds.get(frame_id)
            return len(feed.clients) if feed else 0
        return sum(len(f.clients) for f in self.feeds.values())

    # --- one client ----------------------------------------------------------------------------

    async def serve(self, ws: WebSocket, frame_id: UUID, user_id: UUID, role: str, since: int) -> None:
        """Backlog after ``since``, then live messages, until the client goes away."""
        client = Client(ws, frame_id, user_id, role, asyncio.Queue(self.queue_size), sent=since)
        await self._register(client)
        try:
            await self._catch_up(client)
            sender = asyncio.create_task(self._send_live(client))
            receiver = asyncio.create_task(_until_disconnect(ws))
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
            if cursor <= client.sent:
                continue  # already sent with the backlog
            await self._send(client, text)
            client.sent = cursor

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
                    if any(ev.type == "frame" for ev in events):  # members or roles may have changed
                        await self._recheck_members(feed)
                    messages = await self._messages(feed.frame_id, events)
                    # no await from here to the cursor update: a client registering meanwhile
                    # is either in this fan-out or its backlog reads these committed events
                    for ev, texts in messages:
                        self._fan_out(feed, ev, texts)
                    feed.last_seq = events[-1].seq
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
        """A frame event may be a membership change: a removed member's sockets are closed with
        4403, and a changed role applies from this batch on (authorisation is not only at connect)."""
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

    async def _messages(self, frame_id: UUID, events: list[Event], *, conn: Any = None
                        ) -> list[tuple[Event, Texts]]:
        """The rows these events name, loaded once per type, serialized once per role."""
        by_type: dict[str, list[UUID]] = {}
        for ev in events:
            by_type.setdefault(ev.type, []).append(ev.ref_id)
        rows: dict[tuple[str, UUID], Row] = {}
        for kind, ids in by_type.items():
            if kind == "frame":
                frame = await self.st.get_frame(frame_id, conn=conn)
                if frame is not None:
                    rows[("frame", frame.id)] = frame
                continue
            for loaded in await self.st.rows_by_ids(kind, frame_id, ids, conn=conn):
                rows[(kind, loaded.id)] = loaded  # type: ignore[attr-defined]
        now = self.now()
        out: list[tuple[Event, Texts]] = []
        for ev in events:
            found = rows.get((ev.type, ev.ref_id))
            if found is None:
                continue  # deleted since, or not visible to this reader
            if isinstance(found, Frame):
                texts = {role: _text(ev, schemas.frame_public(found, role=role, narrator=self.narrator))
                         for role in ("gm", "player")}
            else:
                text = _text(ev, _public(found, now))
                texts = {"gm": text, "player": text}
            out.append((ev, texts))
        return out

    # --- listener and poll ---------------------------------------------------------------------

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
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

    async def _listen(self) -> None:
        assert self.dsn
        delay = 0.1
        while True:
            conn = None
            try:
                conn = await store.connect(self.dsn, application_name=APPLICATION_NAME)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listener_pid = conn.get_server_pid()
                if self._connected_once:
                    self.counters["reconnects"] += 1
                self._connected_once = True
                self.listening.set()
                delay = 0.1
                log.info("gateway listening", extra={"action": "gateway_listen", "pid": self.listener_pid})
                for frame_id in list(self.feeds):  # replay from each frame's last cursor
                    self.kick(frame_id)
                await lost.wait()
                log.warning("gateway listener lost", extra={"action": "gateway_listener_lost"})
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect with backoff
                log.warning("gateway listener failed", extra={
                    "action": "gateway_listen_failed", "error": str(exc)})
            finally:
                self.listening.clear()
                self.listener_pid = None
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

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


    async def _presence(self) -> None:
        """Publish who is connected here (per frame and user) so NPC actors in the workers
        pause when no human is present. Rows of users who left are set to zero."""
        gateway = f"{socket.gethostname()}:{os.getpid()}"
        published: set[tuple[UUID, UUID]] = set()
        while True:
            counts: dict[tuple[UUID, UUID], int] = {}
            for feed in self.feeds.values():
                for client in feed.clients:
                    key = (feed.frame_id, client.user_id)
                    counts[key] = counts.get(key, 0) + 1
            now = self.now()
            for key in published | set(counts):
                with contextlib.suppress(MediumError):
                    await self.st.set_presence(key[0], key[1], gateway, counts.get(key, 0), now)
            published = set(counts)
            await asyncio.sleep(PRESENCE_SECONDS)


def _public(row: Row, now: datetime) -> Any:
    if isinstance(row, OutcomeRow):
        return schemas.outcome_public(row)
    if isinstance(row, SolidRow):
        return schemas.narrative_public(row)
    if isinstance(row, Window):
        return schemas.timer_public(row, now)
    if isinstance(row, LiquidEntry):
        return schemas.liquid_public(row)
    raise TypeError(f"no serializer for {type(row).__name__}")


_TYPE_NAMES = {"outcome", "narrative", "timer", "liquid", "frame"}


def _text(ev: Event, model: Any) -> str:
    assert ev.type in _TYPE_NAMES
    return json.dumps({"type": ev.type, "cursor": ev.seq, "data": model.model_dump(mode="json")},
                      separators=(",", ":"))


async def _until_disconnect(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
