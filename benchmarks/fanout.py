"""Realtime fan-out: from an outcome's commit to its arrival at N connected WebSocket clients.

A real ``medium api`` process (its gateway: one LISTEN connection, a batch read of the new
events, a fan-out to every connection) serves N WebSocket clients of one frame member. For
each sample the benchmark commits one Medium result (``route.plan`` applied by ``medium_apply_v2``: an outcome, an NPC's
narrative, the window closed, the frame clock advanced; one NOTIFY) and records when the
outcome message reaches each client. Beside it, in the same run, the raw NOTIFY round trip:
``SELECT pg_notify(...)`` on one connection to its arrival on a LISTEN connection.

Both are timed from the moment the committing statement is sent, so they are comparable: the
difference is the gateway (events + rows read, serialization, per-client queue and send) and
the client side. Everything runs on one machine: the API process, Postgres and the N clients
(one asyncio loop) share its CPUs, so the large-N numbers include client-side receive time.

    python -m benchmarks.fanout --dsn postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks._stats import summarize
from benchmarks.peers import fresh_database
from synthesis import auth, installed, migrations, route, scenario, store
from synthesis.types import ActionOutcome, MediumOutput, ResolvedAction

with installed.extra("bench", "the fan-out benchmark"):
    import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "fanout-benchmark-secret-0123456789abcdef"
SAMPLES = 40
NOTIFY_SAMPLES = 200
GAP_S = 0.05
CONNECT_CHUNK = 100

SCENE = {
    "name": "Fan-out", "perceive": False, "world": "A stage.", "scenario": "An audience watches.",
    "characters": [{"name": "Actor", "universal": "An NPC on stage."},
                   {"name": "Watcher", "player": "watcher", "universal": "The audience."}],
}


def _round(summary: dict[str, float | None]) -> dict[str, float | None]:
    return {k: (round(v, 2) if v is not None else None) for k, v in summary.items()}


async def notify_round_trip(dsn: str, samples: int = NOTIFY_SAMPLES) -> list[float]:
    """Raw NOTIFY → LISTEN latency in ms (autocommit ``SELECT pg_notify``)."""
    listener, sender = await store.connect(dsn), await store.connect(dsn)
    got: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_notify(_c: Any, _pid: int, _ch: str, payload: str) -> None:
        got[payload] = time.perf_counter()
        arrived.set()

    try:
        await listener.add_listener("bench_fanout_rtt", on_notify)
        out = []
        for i in range(samples):
            arrived.clear()
            t0 = time.perf_counter()
            await store.notify(sender, "bench_fanout_rtt", str(i))
            await asyncio.wait_for(arrived.wait(), 5)
            out.append((got[str(i)] - t0) * 1000)
            await asyncio.sleep(0.005)
        return out
    finally:
        await listener.close()
        await sender.close()


class Client:
    """Timestamps every message on arrival; parsing happens after the run."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.raw: list[tuple[float, str]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                self.raw.append((time.perf_counter(), str(message)))

    def arrivals(self) -> dict[str, float]:
        out = {}
        for at, text in self.raw:
            msg = json.loads(text)
            if msg["type"] == "outcome":
                out[msg["data"]["id"]] = at
        return out

    async def close(self) -> None:
        await self.ws.close()
        await self.task


async def _clients(url: str, n: int) -> list[Client]:
    out: list[Client] = []
    while len(out) < n:
        chunk = min(CONNECT_CHUNK, n - len(out))
        out += [Client(ws) for ws in await asyncio.gather(*(connect(url, max_queue=None) for _ in range(chunk)))]
    return out


async def _one_window(st: store.Store, frame_id: UUID, actor: UUID) -> UUID:
    now = datetime.now(UTC)
    async with st.transaction() as conn:
        liq = await st.insert_liquid(conn, frame_id=frame_id, character_id=actor, user_id=None,
                                     content="The actor bows.", refined_text=None, pscale=-2,
                                     timer_duration=5, interruptive=False, interrupt_targets=[],
                                     soft_source="given", soft_note=None, now=now)
        if liq is None:
            raise RuntimeError("the benchmark's liquid was not inserted")
        liq = await st.commit_liquid(conn, frame_id, liq.id, now)
    if liq.window_id is None:
        raise RuntimeError("committing the benchmark's liquid opened no window")
    return liq.window_id


def _result(actor: UUID) -> route.MediumResult:
    outcome = ActionOutcome(actions_resolved=[ResolvedAction(character_id=actor, action="bows", result="success")],
                            world_facts=["The actor bowed."], characters_involved=[actor])
    return route.MediumResult(output=MediumOutput(outcome=outcome, narrative="You bow to the audience."),
                              narrator="benchmark")


async def _route(st: store.Store, frame_id: UUID, window_id: UUID, actor: UUID) -> dict[str, Any]:
    result, now = _result(actor), datetime.now(UTC)
    plan = await st.route(frame_id, window_id, [actor], lambda snap: route.plan(snap, result, now))
    return plan.summary()


async def _wait_clients(http: httpx.AsyncClient, n: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if f"medium_websocket_clients {n}\n" in (await http.get("/metrics")).text:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{n} clients did not register")


async def fan_out(st: store.Store, http: httpx.AsyncClient, base: str, frame_id: UUID, actor: UUID,
                  watcher: UUID, n: int, samples: int) -> dict[str, Any]:
    frame = await st.get_frame(frame_id)
    seq = frame.event_seq if frame else 0
    tok = auth.issue_token(SECRET, watcher)
    url = f"{base.replace('http', 'ws', 1)}/frames/{frame_id}/ws?token={tok}&since={seq}"
    clients = await _clients(url, n)
    sent: dict[str, float] = {}
    route_ms: list[float] = []
    try:
        await _wait_clients(http, n)
        for _ in range(samples):
            window = await _one_window(st, frame_id, actor)
            t0 = time.perf_counter()
            routed = await _route(st, frame_id, window, actor)
            route_ms.append((time.perf_counter() - t0) * 1000)
            sent[routed["outcome_id"]] = t0
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline and sum(len(c.raw) for c in clients) < 2 * n * len(sent):
                await asyncio.sleep(0.001)  # outcome + frame (clock) message per client per sample
            await asyncio.sleep(GAP_S)
    finally:
        for c in clients:
            await c.close()
    per_client: list[float] = []
    last: list[float] = []
    missing = 0
    arrivals = [c.arrivals() for c in clients]
    for oid, t0 in sent.items():
        times = [a[oid] for a in arrivals if oid in a]
        missing += n - len(times)
        per_client += [(t - t0) * 1000 for t in times]
        if times:
            last.append((max(times) - t0) * 1000)
    return {"clients": n, "samples": len(sent), "missing": missing,
            "per_client_ms": _round(summarize(per_client)), "last_client_ms": _round(summarize(last)),
            "route_commit_ms": _round(summarize(route_ms))}


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    del soft


async def run(dsn: str, clients: tuple[int, ...] = (1, 100, 1000), *, samples: int = SAMPLES,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``dsn``: any database on a server where this user may create databases. A fresh
    ``bench_fanout_<hex>`` database is created, migrated, served by a ``medium api`` subprocess,
    and dropped afterwards."""
    say = progress or (lambda _m: None)
    _raise_fd_limit()
    async with fresh_database(dsn, "fanout") as db:
        await migrations.apply(db)
        pool = await store.create_pool(db, max_size=4)
        st = store.Store(pool)
        inst = await scenario.install(st, scenario.parse_scenario(SCENE))
        actor = next(c.id for c in inst.characters if c.name == "Actor")
        watcher = next(c.user_id for c in inst.characters if c.name == "Watcher")
        if watcher is None:
            raise RuntimeError("the fan-out scenario's Watcher has no player")
        port = _free_port()
        env = {**os.environ, "MEDIUM_JWT_SECRET": SECRET, "MEDIUM_LOG_LEVEL": "WARNING", "MEDIUM_LLM": "scripted"}
        env.pop("DATABASE_URL", None)
        api = subprocess.Popen([sys.executable, "-m", "workers", "api", "--database-url", db, "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                await _wait_healthy(http)
                say("NOTIFY round trip…")
                rtt = await notify_round_trip(db)
                result: dict[str, Any] = {"notify_round_trip_ms": _round(summarize(rtt)),
                                          "notify_samples": len(rtt), "fanout": {}}
                for n in clients:
                    say(f"fan-out to {n} clients…")
                    result["fanout"][str(n)] = await fan_out(st, http, base, inst.frame_id, actor, watcher,
                                                             n, samples)
                result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
                return result
        finally:
            api.terminate()
            try:
                api.wait(20)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait()
            await pool.close()


async def _wait_healthy(http: httpx.AsyncClient, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/health")).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("medium api did not become healthy")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--clients", default="1,100,1000")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args()
    doc = asyncio.run(run(args.dsn, tuple(int(x) for x in args.clients.split(",")), samples=args.samples,
                          progress=lambda m: print(m, file=sys.stderr)))
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
