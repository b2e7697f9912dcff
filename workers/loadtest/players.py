"""Simulated players: one real HTTP client and one real WebSocket per player character.

A player thinks (lognormal think time), draws an action from its character's ``actions``,
commits it with ``POST /frames/{id}/liquid`` and waits for the narrative that resolves it
(bounded), then thinks again. Its WebSocket reconnects with ``since=<last cursor>`` whenever
it drops, and every message is recorded with its receive time (``time.time()``, comparable
with the database's timestamps on the same host).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from synthesis import installed

with installed.extra("loadtest", "medium loadtest"):
    import httpx

FATAL_CLOSE = {4401, 4403, 4404, 1008}
FALLBACK_ACTIONS = [{"text": "I look around and take in the room", "pscale": -1}]


@dataclass
class NarrativeSeen:
    id: str
    seq: int
    cursor: int
    character_id: str
    user_id: str | None
    participants: list[str]
    source_liquid_ids: list[str]
    created_at: float  # epoch seconds (the solid row's created_at)
    received_at: float  # first receipt


@dataclass
class PlayerLog:
    """Everything one simulated player did and received."""

    commits: dict[str, float] = field(default_factory=dict)  # liquid id -> request sent (epoch)
    commit_errors: Counter[str] = field(default_factory=Counter)
    narratives: dict[str, NarrativeSeen] = field(default_factory=dict)
    narrative_order: list[str] = field(default_factory=list)  # ids in receive order
    resolved_by: dict[str, float] = field(default_factory=dict)  # liquid id -> narrative received
    duplicates: int = 0  # narratives received again (same id)
    stale_cursors: int = 0  # messages at or below a cursor already received
    misdelivered: list[dict[str, Any]] = field(default_factory=list)
    first_delta: dict[str, float] = field(default_factory=dict)  # window id -> first narrative_delta
    messages: Counter[str] = field(default_factory=Counter)
    connects: int = 0
    drops: int = 0
    ws_errors: Counter[str] = field(default_factory=Counter)
    fatal: str | None = None


def _epoch(value: Any) -> float:
    return datetime.fromisoformat(str(value)).timestamp()


class Player:
    def __init__(self, *, api: str, frame_id: str, character_id: str, user_id: str, name: str,
                 token: str, actions: list[dict[str, Any]], seed: int, think_median: float,
                 wait_cap: float = 30.0, think_uniform: tuple[float, float] | None = None,
                 http: httpx.AsyncClient | None = None):
        self.api = api.rstrip("/")
        self.frame_id = frame_id
        self.character_id = character_id
        self.user_id = user_id
        self.name = name
        self.token = token
        self.actions = actions or FALLBACK_ACTIONS
        self.rng = random.Random(seed)  # noqa: S311  a seeded simulation of players
        self.think_median = think_median
        self.think_uniform = think_uniform  # (low, high) seconds: real pacing, not lognormal
        self.wait_cap = wait_cap
        self.http = http  # shared by every player of the simulator (per-request tokens)
        self.log = PlayerLog()
        self.cursor = 0
        self.connected = False
        self._ws: ClientConnection | None = None
        self._closing = False
        self._acting = True
        self._stop_acting = asyncio.Event()
        self._narrative_arrived = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------

    def stop_acting(self) -> None:
        self._acting = False
        self._stop_acting.set()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def drop(self) -> None:
        """Fault injection: drop the connection as a flaky network would (the client reconnects)."""
        if self._ws is not None and self.connected:
            self.log.drops += 1
            with contextlib.suppress(Exception):
                self._ws.transport.abort()

    # --- the WebSocket ----------------------------------------------------------------------

    def ws_url(self) -> str:
        base = "ws" + self.api[4:] if self.api.startswith("http") else self.api
        return f"{base}/frames/{self.frame_id}/ws?token={self.token}&since={self.cursor}"

    async def listen(self) -> None:
        """Keep one WebSocket open until ``close()``, reconnecting with ``since``."""
        backoff = 0.1
        while not self._closing:
            try:
                async with connect(self.ws_url(), open_timeout=10, compression=None, proxy=None,
                                   max_size=2**23, close_timeout=2) as ws:
                    self._ws = ws
                    self.connected = True
                    self.log.connects += 1
                    backoff = 0.1
                    async for raw in ws:
                        self._receive(raw, time.time())
                    code = ws.close_code
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                self.log.ws_errors[f"closed:{code}"] += 1
            except InvalidStatus as exc:
                code = None
                self.log.ws_errors[f"status:{exc.response.status_code}"] += 1
            except (OSError, WebSocketException, TimeoutError) as exc:
                code = None
                self.log.ws_errors[type(exc).__name__] += 1
            finally:
                self.connected = False
                self._ws = None
            if code in FATAL_CLOSE:
                self.log.fatal = f"websocket closed with {code}"
                return
            if not self._closing:
                await asyncio.sleep(backoff)
                backoff = min(2.0, backoff * 2)

    def _receive(self, raw: str | bytes, now: float) -> None:
        msg = json.loads(raw)
        kind, cursor, data = msg.get("type"), int(msg.get("cursor") or 0), msg.get("data") or {}
        self.log.messages[kind] += 1
        if kind == "narrative_delta":  # ephemeral: its cursor is the last one sent, not its own
            self._delta(data, cursor, now)
            return
        if cursor <= self.cursor:
            self.log.stale_cursors += 1
        self.cursor = max(self.cursor, cursor)
        if kind == "narrative":
            self._narrative(data, cursor, now)
        elif kind in ("timer", "liquid") and str(data.get("character_id")) != self.character_id:
            self.log.misdelivered.append({"type": kind, "id": data.get("id"), "cursor": cursor,
                                          "character_id": data.get("character_id")})

    def _delta(self, data: dict[str, Any], cursor: int, now: float) -> None:
        """A narrative being written: only its owner (and the GM) may see it; the first one of a
        window is its first token at this client."""
        if str(data.get("character_id")) != self.character_id:
            self.log.misdelivered.append({"type": "narrative_delta", "window_id": data.get("window_id"),
                                          "cursor": cursor, "character_id": data.get("character_id")})
            return
        self.log.first_delta.setdefault(str(data.get("window_id")), now)

    def _narrative(self, data: dict[str, Any], cursor: int, now: float) -> None:
        nid = str(data["id"])
        participants = [str(u) for u in data.get("participant_user_ids") or []]
        if str(data.get("user_id")) != self.user_id and self.user_id not in participants:
            self.log.misdelivered.append({"type": "narrative", "id": nid, "cursor": cursor,
                                          "user_id": data.get("user_id")})
        if nid in self.log.narratives:
            self.log.duplicates += 1
            return
        seen = NarrativeSeen(
            id=nid, seq=int(data.get("seq") or 0), cursor=cursor,
            character_id=str(data.get("character_id")),
            user_id=str(data["user_id"]) if data.get("user_id") else None, participants=participants,
            source_liquid_ids=[str(x) for x in data.get("source_liquid_ids") or []],
            created_at=_epoch(data["created_at"]), received_at=now)
        self.log.narratives[nid] = seen
        self.log.narrative_order.append(nid)
        for lid in seen.source_liquid_ids:
            self.log.resolved_by.setdefault(lid, now)
        self._narrative_arrived.set()

    # --- acting -----------------------------------------------------------------------------

    def think_time(self) -> float:
        if self.think_uniform is not None:
            return self.rng.uniform(*self.think_uniform)
        t = self.think_median * math.exp(self.rng.gauss(0.0, 0.6))
        return min(max(t, self.think_median * 0.1), self.think_median * 8)

    async def _pause(self, seconds: float) -> bool:
        """Sleep; False when told to stop acting meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_acting.wait(), timeout=seconds)
        return self._acting

    async def act(self) -> None:
        """Think, commit, wait for the resolving narrative; until ``stop_acting()``."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.http is not None:
            await self._act(self.http, headers)
            return
        async with httpx.AsyncClient(base_url=self.api, headers=headers, timeout=30.0, trust_env=False) as http:
            await self._act(http, headers)

    async def _act(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        first = self.rng.uniform(0, self.think_uniform[1] if self.think_uniform else self.think_median)
        if not await self._pause(first):
            return
        body: dict[str, Any] | None = None
        while self._acting:
            if body is None:  # a new action; a retry after a lost answer resends the same key
                action = self.rng.choice(self.actions)
                body = {"character_id": self.character_id, "content": action["text"],
                        "commit": True, "client_key": f"lt-{uuid.uuid4().hex}"}
                if action.get("pscale") is not None:
                    body["pscale"] = action["pscale"]
            sent = time.time()
            try:
                r = await http.post(f"/frames/{self.frame_id}/liquid", json=body, headers=headers)
            except httpx.HTTPError as exc:
                self.log.commit_errors[type(exc).__name__] += 1
                if not await self._pause(1.0):
                    return
                continue
            if r.status_code != 429 and r.status_code < 500:
                body = None  # answered: the next turn is a new action
            if r.status_code == 429:
                self.log.commit_errors["429"] += 1
                if not await self._pause(float(r.headers.get("retry-after", "1"))):
                    return
                continue
            if r.status_code not in (200, 201):
                self.log.commit_errors[str(r.status_code)] += 1
                if not await self._pause(1.0):
                    return
                continue
            liq = r.json()
            lid = str(liq["id"])
            self.log.commits[lid] = sent
            due = _epoch(liq["timer_expires_at"]) if liq.get("timer_expires_at") else time.time()
            await self._await_resolution(lid, deadline=max(due, time.time()) + self.wait_cap)
            if not await self._pause(self.think_time()):
                return

    async def _await_resolution(self, liquid_id: str, *, deadline: float) -> None:
        while self._acting and liquid_id not in self.log.resolved_by:
            left = deadline - time.time()
            if left <= 0:
                return
            self._narrative_arrived.clear()
            if liquid_id in self.log.resolved_by:
                return
            waiter = asyncio.ensure_future(self._narrative_arrived.wait())
            stopper = asyncio.ensure_future(self._stop_acting.wait())
            try:
                await asyncio.wait({waiter, stopper}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (waiter, stopper):
                    t.cancel()
                await asyncio.gather(waiter, stopper, return_exceptions=True)


def first_tokens(windows: dict[str, dict[str, Any]], players: list[Player]
                 ) -> tuple[list[float], list[float]]:
    """``first_token_ms``: from a window's closing (``due_at``) to the first ``narrative_delta``
    of it at its owner's client (epoch seconds on one host), in ms; and the same from its claim
    (without the timer's lateness and a character's wait for its previous window)."""
    from_due: list[float] = []
    from_claim: list[float] = []
    for p in players:
        for wid, at in p.log.first_delta.items():
            w = windows.get(wid)
            if w is not None and w["claimed_at"] is not None:
                from_due.append((at - w["due_at"]) * 1000)
                from_claim.append((at - w["claimed_at"]) * 1000)
    return from_due, from_claim
