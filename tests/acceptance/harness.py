"""Real processes for acceptance tests: `medium worker` subprocesses, a `medium api` plus
`medium worker` stack with WebSocket readers, and a driver that commits actions like players do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from synthesis import liquid, scenario, store
from synthesis.clock import SystemClock
from tests.integration.api_support import SECRET, free_port, ws_url

ROOT = Path(__file__).resolve().parents[2]
CLOCK_READ_SLACK = timedelta(milliseconds=50)


def crowd(n: int, *, name: str = "Crowd") -> dict[str, Any]:
    return {
        "name": name, "world": "A busy market.", "scenario": "Everyone is busy.",
        "perceive": False,
        "characters": [{"name": f"Person {i:02d}", "player": f"p{i:02d}",
                        "universal": f"Person {i}.", "internal": f"SECRET-{i}",
                        "external": f"Looks like person {i}."} for i in range(n)],
    }


def env(**extra: str) -> dict[str, str]:
    base = {**os.environ, "MEDIUM_LLM": "scripted", "MEDIUM_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1"}
    base.update(extra)
    return base


class Proc:
    def __init__(self, args: list[str], environ: dict[str, str], log: Path):
        self.log = log
        self._fh = log.open("ab")
        self.p = subprocess.Popen([sys.executable, "-m", "workers", *args], env=environ, cwd=ROOT,
                                  stdout=self._fh, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.p.pid

    def signal(self, sig: int) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.p.wait(timeout)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Stack:
    base: str
    api: Proc
    worker: Proc
    http: httpx.AsyncClient


@contextlib.asynccontextmanager
async def stack(db_url: str, tmp: Path, *, time_scale: str = "0.02",
                worker_env: dict[str, str] | None = None) -> AsyncIterator[Stack]:
    """`medium api --database-url URL --port P` and `medium worker --database-url URL`, up and
    healthy; `worker_env` adds to the worker's environment (a narrator, say)."""
    api_env = env(MEDIUM_TIME_SCALE=time_scale, MEDIUM_JWT_SECRET=SECRET)
    api_env.pop("DATABASE_URL", None)
    port = free_port()
    api = Proc(["api", "--database-url", db_url, "--port", str(port)], api_env, tmp / "api.log")
    worker = Proc(["worker", "--database-url", db_url, "--poll", "0.5"], {**api_env, **(worker_env or {})},
                  tmp / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            async def healthy() -> bool:
                return (await http.get("/health")).status_code == 200
            assert await wait_until(healthy, timeout=30), api.output()
            yield Stack(base, api, worker, http)
    finally:
        api.stop()
        worker.stop()


class Reader:
    """One WebSocket's messages, collected in the background."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._run())

    @classmethod
    async def open(cls, base: str, frame_id: UUID, user: UUID, since: int = 0) -> Reader:
        return cls(await connect(ws_url(base, frame_id, user, since)))

    async def _run(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                self.messages.append(json.loads(raw))

    def seen(self) -> list[tuple[int, str]]:
        """The events received, as (cursor, type); ephemeral ``narrative_delta``s are not events."""
        return [(m["cursor"], m["type"]) for m in self.messages if m["type"] != "narrative_delta"]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m["data"] for m in self.messages if m["type"] == kind]

    async def close(self) -> None:
        await self.ws.close()
        await self.task


def assert_alive(procs: list[Proc]) -> None:
    """Every process still runs; a dead one fails the test with the end of its log."""
    dead = [p for p in procs if p.p.poll() is not None]
    assert not dead, "\n\n".join(f"exit {p.p.returncode}:\n{p.output()[-3000:]}" for p in dead)


@contextmanager
def workers(db_url: str, tmp: Path, n: int, *, environ: dict[str, str] | None = None,
            extra: list[str] | None = None) -> Iterator[list[Proc]]:
    procs = [Proc(["worker", "--database-url", db_url, "--id", f"w{i}", *(extra or [])],
                  environ or env(), tmp / f"w{i}.log") for i in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.stop()


@dataclass
class Driver:
    """Commits `per_character` actions for each character, one window at a time, with random
    pscales: a new action once the previous window is no longer open."""

    st: store.Store
    frame_id: UUID
    cast: list[scenario.InstalledCharacter]
    per_character: int
    pscales: tuple[int, ...] = (-3, -2, -1)
    time_scale: float = 0.01
    seed: int = 7
    committed: int = 0
    errors: list[str] = field(default_factory=list)

    async def run(self, *, deadline: float = 120.0) -> None:
        rng = random.Random(self.seed)
        left = {c.id: self.per_character for c in self.cast}
        clock = SystemClock()
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while any(left.values()) and loop.time() < end:
            try:
                busy = {w.character_id for w in await self.st.open_windows(self.frame_id)
                        if w.status == "open"}
            except Exception as exc:  # the database may be restarting
                self.errors.append(str(exc))
                await asyncio.sleep(0.2)
                continue
            for c in self.cast:
                if left[c.id] and c.id not in busy:
                    n = self.per_character - left[c.id]
                    try:  # a retry after an unanswered submit reuses the key: no second action
                        await liquid.submit(
                            self.st, None, frame_id=self.frame_id, character_id=c.id,
                            content=f"{c.name} does thing {n}", now=clock.now(), user_id=c.user_id,
                            commit=True, pscale=rng.choice(self.pscales), time_scale=self.time_scale,
                            client_key=f"driver-{n}")
                        left[c.id] -= 1
                        self.committed += 1
                    except Exception as exc:
                        self.errors.append(str(exc))
            await asyncio.sleep(0.02)


async def wait_until(pred: Any, *, timeout: float, interval: float = 0.1) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        try:
            if await pred():
                return True
        except Exception:  # noqa: S110  not ready yet (a socket or a row): ask again
            pass
        await asyncio.sleep(interval)
    return False


async def window_counts(st: store.Store, frame_id: UUID) -> dict[str, int]:
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM windows WHERE frame_id = $1 "
                                "GROUP BY status", frame_id)
    return {r["status"]: r["n"] for r in rows}


async def check_invariants(st: store.Store, frame_id: UUID) -> dict[str, Any]:
    """Exactly-once effect, per-character order, at most one in flight per character."""
    async with st.pool.acquire() as conn:
        per_window = await conn.fetch(
            "SELECT w.id, w.status, (SELECT count(*) FROM outcomes o WHERE o.window_id = w.id) AS o,"
            " (SELECT count(*) FROM solid s WHERE s.window_id = w.id) AS s,"
            " (SELECT count(*) FROM liquid l WHERE l.window_id = w.id) AS l"
            " FROM windows w WHERE w.frame_id = $1 AND w.status <> 'cancelled'", frame_id)
        order = await conn.fetch(
            "SELECT w.character_id, w.seq AS wseq, s.seq AS sseq, w.claimed_at, w.completed_at"
            " FROM windows w JOIN solid s ON s.window_id = w.id WHERE w.frame_id = $1"
            " ORDER BY w.character_id, w.seq", frame_id)
    bad_once = [dict(r) for r in per_window
                if r["status"] == "done" and (r["s"] != 1 or (r["l"] > 0 and r["o"] != 1))]
    out_of_order, overlap = [], []
    last: dict[Any, Any] = {}
    for r in order:
        prev = last.get(r["character_id"])
        if prev is not None:
            if r["sseq"] < prev["sseq"]:
                out_of_order.append((str(r["character_id"]), prev["wseq"], r["wseq"]))
            # claimed_at is the claimer's clock read just before its claim statement, and
            # completed_at the router's read just before the route; a claim issued a few ms
            # before a route commits (and executed after it) carries the earlier stamp. The
            # database itself forbids two claimed windows per character (windows_one_claimed);
            # a real overlap here would be a whole synthesis long (>= 150 ms in these tests).
            if r["claimed_at"] < prev["completed_at"] - CLOCK_READ_SLACK:
                overlap.append((str(r["character_id"]), prev["wseq"], r["wseq"]))
        last[r["character_id"]] = r
    return {"windows": len(per_window), "not_exactly_once": bad_once,
            "out_of_order": out_of_order, "overlapping": overlap}
