"""NPC actors: a character without a player is driven by an AI actor inside the workers.

When: it has no open (or in-flight) window and either an outcome involving it appeared
since it last acted, or its idle time passed (``idle_seconds`` × time scale; default 60 s).
How: the LLM proposes one action from what that NPC may know (the same knowledge boundary
as its Medium); offline, the scripted narrator picks from the character's ``actions``. The
action is submitted and committed through the player's path (``synthesis.liquid.submit``).
Cost: at most ``actor_budget_per_hour`` actions per frame per game hour (3600 s × time
scale of real time). Actors pause when no human is connected, unless ``actors_always``.
Exactly one worker runs the actors at a time: leadership is a session advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from synthesis import compile as compile_
from synthesis import liquid, medium, store
from synthesis.clock import Clock
from synthesis.errors import MediumError
from synthesis.llm.registry import Registry
from workers import presence

log = logging.getLogger(__name__)
LEADER_LOCK = 0x6D6163746F72  # "mactor"
DEFAULT_IDLE_SECONDS = 60.0
PRESENCE_TTL = presence.PRESENCE_TTL  # seconds: how fresh a presence row must be


class Actors:
    def __init__(self, st: store.Store, registry: Registry, *, dsn: str, clock: Clock,
                 time_scale: float = 1.0, tick: float = 0.5, batch: int = 200, concurrency: int = 16):
        self.st = st
        self.registry = registry
        self.dsn = dsn
        self.clock = clock
        self.time_scale = time_scale
        self.tick = tick
        self.batch = batch
        self.concurrency = concurrency
        self.acted = 0

    async def run(self) -> None:
        """Wait for leadership, then act every tick. Leadership is lost with the connection."""
        while True:
            conn = None
            try:
                conn = await store.connect(self.dsn)
                while not await store.try_advisory_lock(conn, LEADER_LOCK):
                    await asyncio.sleep(2.0)
                log.info("actor leader", extra={"action": "actor_leader"})
                while not conn.is_closed():
                    try:
                        await self.pass_once()
                    except MediumError as exc:
                        log.warning("actor pass failed", extra={"action": "actor_error", "error": str(exc)})
                    await asyncio.sleep(self.tick)
                    await store.ping(conn)  # still leader (connection alive)?
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect and re-elect
                log.warning("actor leadership lost", extra={"action": "actor_reconnect", "error": str(exc)})
                await asyncio.sleep(1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)

    def due(self, row: Any, now: Any) -> bool:
        last = row["last_acted"]
        involved = row["last_involved"]
        if involved is not None and (last is None or involved > last):
            return True
        idle = (row["idle_seconds"] or DEFAULT_IDLE_SECONDS) * self.time_scale
        return bool(now - (last or row["created_at"]) >= timedelta(seconds=idle))

    async def pass_once(self) -> int:
        now = self.clock.now()
        period = timedelta(seconds=3600 * self.time_scale)
        rows = await self.st.actor_candidates(self.batch, now - period,
                                             now - timedelta(seconds=PRESENCE_TTL))
        spent: dict[Any, int] = {}
        chosen = []
        for row in rows:  # decide first (the budget counts decisions), then act concurrently
            frame_id = row["frame_id"]
            if row["recent_actions"] + spent.get(frame_id, 0) >= row["actor_budget_per_hour"]:
                continue
            if self.due(row, now):
                spent[frame_id] = spent.get(frame_id, 0) + 1
                chosen.append((frame_id, row["id"]))
        limit = asyncio.Semaphore(self.concurrency)

        async def one(frame_id: Any, character_id: Any) -> bool:
            async with limit:
                try:
                    return await self.act(frame_id, character_id)
                except MediumError as exc:
                    log.warning("actor failed", extra={"action": "actor_error", "error": str(exc),
                                                       "character_id": str(character_id)})
                    return False

        acted = sum(await asyncio.gather(*(one(f, c) for f, c in chosen)))
        self.acted += acted
        return acted

    async def act(self, frame_id: Any, character_id: Any) -> bool:
        inp, doc = await medium.prepare(self.st, frame_id, None, character_id=character_id)
        me = medium.character_of(doc, character_id)
        llm, model, _ = self.registry.medium(me.model)
        try:
            done = await llm.complete(compile_.compile_actor(inp, me.actions), model=model,
                                      json_schema=ACTION_SCHEMA, max_tokens=200)
            text, pscale = parse_action(done.text)
        except (MediumError, ValueError) as exc:
            log.info("actor skipped", extra={"action": "actor_skip", "character_id": str(character_id),
                                             "error": str(exc)})
            return False
        await liquid.submit(self.st, self.registry, frame_id=frame_id, character_id=character_id,
                            content=text, now=self.clock.now(), commit=True, pscale=pscale,
                            time_scale=self.time_scale)
        log.info("actor acted", extra={"action": "actor_act", "frame_id": str(frame_id),
                                       "character_id": str(character_id), "pscale": pscale})
        return True


ACTION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["text", "pscale"],
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 2000},
                   "pscale": {"type": "integer", "minimum": -3, "maximum": 2}},
}


def parse_action(text: str) -> tuple[str, int]:
    """Validate an actor's answer: {"text": non-empty ≤ 2000 chars, "pscale": -3..2}."""
    start = text.find("{")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except json.JSONDecodeError as exc:
        raise ValueError(f"actor output is not JSON: {exc.msg}") from exc
    if not isinstance(obj, dict):
        raise ValueError("actor output is not a JSON object")
    action = obj.get("text")
    pscale = obj.get("pscale")
    if not isinstance(action, str) or not action.strip() or len(action) > liquid.CONTENT_CAP:
        raise ValueError("actor output: text must be 1 to 2000 characters")
    if not isinstance(pscale, int) or isinstance(pscale, bool) or not -3 <= pscale <= 2:
        raise ValueError(f"actor output: pscale {pscale!r} is not an integer in -3..2")
    return action.strip(), pscale
