"""Realtime fan-out: from an outcome's commit to its arrival at N connected WebSocket clients.

A real ``medium api`` process (its gateway: one LISTEN connection, a batch read of the new
events, a fan-out to every connection) serves N WebSocket clients of one frame member. For
each sample the benchmark commits one Medium result (``route.plan`` applied by ``medium_apply_v2``: an outcome, an NPC's
narrative, the window closed, the frame clock advanced; one NOTIFY) and records when the
outcome message reaches each client. Beside it, in the same run, the raw NOTIFY round trip:
``SELECT pg_notify(...)`` on one connection to its arrival on a LISTEN connection.

Both are timed from the moment the committing statement is sent, so they are comparable: the
difference is the gateway (events + rows read, serialization, per-client queue and send) and
the client side. The clients run in their own processes (``benchmarks.fanout_clients``, up to
``PER_PROCESS`` connections each), apart from the API process and from this driver, and stamp
arrivals with ``CLOCK_MONOTONIC``, the clock the driver stamps commits with. They still share
the machine's CPUs with the API and Postgres.

Two scenarios: N clients of one frame (every sample reaches all N), and ``spread``: 1,000
clients over 200 frames, 5 per frame, one sample per frame in turn (each reaches its 5 while
the other 995 stay connected).

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks._stats import summarize
from benchmarks.peers import fresh_database
from synthesis import auth, installed, migrations, route, scenario, store
from synthesis.types import ActionOutcome, MediumOutput, ResolvedAction

with installed.extra("bench", "the fan-out benchmark"):
    import httpx

from benchmarks.fanout_clients import now as monotonic

ROOT = Path(__file__).resolve().parents[1]
SECRET = "fanout-benchmark-secret-0123456789abcdef"
SAMPLES = 40
NOTIFY_SAMPLES = 200
GAP_S = 0.05
PER_PROCESS = 250
SPREAD_FRAMES, SPREAD_CLIENTS = 200, 1000

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


class ClientProcesses:
    """WebSocket clients in their own processes (``benchmarks.fanout_clients``)."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.errors = 0

    async def start(self, urls: list[str]) -> None:
        for start in range(0, len(urls), PER_PROCESS):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.fanout_clients", cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28)
            self.procs.append(proc)
            assert proc.stdin is not None  # noqa: S101  created with PIPE
            proc.stdin.write((json.dumps({"urls": urls[start:start + PER_PROCESS]}) + "\n").encode())
            await proc.stdin.drain()
        for proc in self.procs:
            assert proc.stdout is not None  # noqa: S101  created with PIPE
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            if not line:
                raise RuntimeError("a fan-out client process exited before its clients connected")
            self.errors += int(json.loads(line)["errors"])

    async def stop(self) -> dict[str, list[float]]:
        """End every client; {outcome id: arrival times (monotonic seconds)}."""
        arrivals: dict[str, list[float]] = {}
        for proc in self.procs:
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    proc.stdin.write(b"stop\n")
                    await proc.stdin.drain()
        for proc in self.procs:
            if proc.stdout is None:
                continue
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            await proc.wait()
            if line:
                doc = json.loads(line)
                self.errors += int(doc["errors"])
                for oid, at in doc["arrivals"]:
                    arrivals.setdefault(oid, []).append(at)
        self.procs = []
        return arrivals

    def kill(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


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


def gauge(text: str, name: str) -> float | None:
    """A sample's value from Prometheus text (the first line for ``name`` without labels)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


async def _wait_clients(http: httpx.AsyncClient, n: int, timeout: float = 120) -> int:
    """Wait until the gateway counts ``n`` clients; how many it counts (fewer at the timeout)."""
    end = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < end:
        seen = int(gauge((await http.get("/metrics")).text, "medium_websocket_clients") or 0)
        if seen >= n:
            return seen
        await asyncio.sleep(0.1)
    return seen


@dataclass(frozen=True)
class Stage:
    """A frame of the benchmark: its acting NPC, and a URL for its watching player."""

    frame_id: UUID
    actor: UUID
    url: str


async def _stage(st: store.Store, base: str, name: str) -> Stage:
    inst = await scenario.install(st, scenario.parse_scenario({**SCENE, "name": name}))
    actor = next(c.id for c in inst.characters if c.name == "Actor")
    watcher = next(c.user_id for c in inst.characters if c.name == "Watcher")
    if watcher is None:
        raise RuntimeError("the fan-out scenario's Watcher has no player")
    frame = await st.get_frame(inst.frame_id)
    since = frame.event_seq if frame else 0
    tok = auth.issue_token(SECRET, watcher)
    ws = base.replace("http", "ws", 1)
    return Stage(inst.frame_id, actor, f"{ws}/frames/{inst.frame_id}/ws?token={tok}&since={since}")


async def fan_out(st: store.Store, http: httpx.AsyncClient, stages: list[Stage], per_frame: int,
                  samples: int, gap: float) -> dict[str, Any]:
    """``per_frame`` clients on each stage; ``samples`` outcomes, one per stage in turn."""
    procs = ClientProcesses()
    sent: dict[str, tuple[float, int]] = {}
    route_ms: list[float] = []
    n = per_frame * len(stages)
    try:
        await procs.start([s.url for s in stages for _ in range(per_frame)])
        registered = await _wait_clients(http, n - procs.errors)
        for i in range(samples):
            stage = stages[i % len(stages)]
            window = await _one_window(st, stage.frame_id, stage.actor)
            t0 = monotonic()
            routed = await _route(st, stage.frame_id, window, stage.actor)
            route_ms.append((monotonic() - t0) * 1000)
            sent[routed["outcome_id"]] = (t0, per_frame)
            await asyncio.sleep(gap)
        await asyncio.sleep(max(1.0, 10 * gap))  # the last sample's stragglers
        arrivals = await procs.stop()
    finally:
        procs.kill()
    per_client: list[float] = []
    last: list[float] = []
    missing = 0
    for oid, (t0, expected) in sent.items():
        times = arrivals.get(oid, [])
        missing += expected - len(times)
        per_client += [(t - t0) * 1000 for t in times]
        if times:
            last.append((max(times) - t0) * 1000)
    return {"clients": n, "registered": registered, "frames": len(stages), "client_processes": -(-n // PER_PROCESS),
            "samples": len(sent), "missing": missing, "connect_errors": procs.errors,
            "per_client_ms": _round(summarize(per_client)), "last_client_ms": _round(summarize(last)),
            "route_commit_ms": _round(summarize(route_ms))}


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    del soft


async def run(dsn: str, clients: tuple[int, ...] = (1, 100, 1000), *, samples: int = SAMPLES,
              spread: tuple[int, int] | None = (SPREAD_FRAMES, SPREAD_CLIENTS),
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``dsn``: any database on a server where this user may create databases. A fresh
    ``bench_fanout_<hex>`` database is created, migrated, served by a ``medium api`` subprocess,
    and dropped afterwards. ``spread``: (frames, clients) of the spread scenario, or None."""
    say = progress or (lambda _m: None)
    _raise_fd_limit()
    async with fresh_database(dsn, "fanout") as db:
        await migrations.apply(db)
        pool = await store.create_pool(db, max_size=4)
        st = store.Store(pool)
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
                one = await _stage(st, base, "Fan-out")
                for n in clients:
                    say(f"fan-out to {n} clients of one frame…")
                    result["fanout"][str(n)] = await fan_out(st, http, [one], n, samples,
                                                             gap=GAP_S if n < 1000 else 5 * GAP_S)
                if spread is not None:
                    frames, total = spread
                    say(f"fan-out spread: {total} clients over {frames} frames…")
                    stages = [await _stage(st, base, f"Fan-out {i}") for i in range(frames)]
                    result["spread"] = await fan_out(st, http, stages, max(1, total // frames), frames, gap=GAP_S / 2)
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
