"""``medium loadtest``: real clients against a real stack, then a report of DESIGN §5.

Phases: prepare (migrate, install the scenario F times, mint tokens) → start the API and N
supervised workers (unless ``--api``) → players act for ``--duration`` seconds while a worker is
SIGKILLed every ``--kill-worker-every`` seconds → players stop, NPC actors are paused (their
frame budget set to 0) and open windows drain (bounded) → every player must have received
every narrative of theirs → report, invariant table, plot. Exit 1 on any FAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import resource
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live

from synthesis import store
from synthesis.errors import MediumError
from synthesis.settings import Settings
from synthesis.stats import summarize
from synthesis.store_ops import OpsStore
from workers.loadtest import plot, report
from workers.loadtest import stack as stack_mod
from workers.loadtest.monitor import Monitor
from workers.loadtest.players import Player
from workers.runtime import JsonFormatter

log = logging.getLogger("workers.loadtest")

THINK_MEDIAN_GAME_SECONDS = 40.0  # a player's median think time at time scale 1
DRAIN_EXTRA_SECONDS = 30.0
DELIVERY_SECONDS = 15.0
WARMUP_SECONDS = 15.0  # details.after_warmup: latencies without the cold start
RECOVERY_WAIT_S = 60.0  # how long a killed worker's windows are watched for their reclaim


@dataclass
class Recovery:
    """``recovery_ms``: kill → the next claim of each window the killed worker held."""

    ms: list[float]
    unrecovered: int = 0


@dataclass
class Config:
    scenario: Path
    frames: int = 1
    duration: float = 60.0
    time_scale: float = 0.05
    workers: int = 2
    llm: str = "scripted"
    llm_latency: str = "none"
    kill_worker_every: float = 0.0
    report: Path | None = None
    plot: Path | None = None
    database_url: str | None = None
    api: str | None = None
    seed: int = 0
    worker_concurrency: int = 16
    lease: float = 10.0
    drop_client_every: float = 0.0
    pacing: str = "scaled"  # realtime: time scale 1.0, every player acting every 20-40 s


REALTIME_THINK = (20.0, 40.0)  # seconds between a player's actions at --pacing realtime


def main(cfg: Config, console: Console) -> int:
    """Resolve the database (embedded by default), run, clean up. Returns the exit code."""
    db_url, embedded, run_dir = stack_mod.resolve_database(cfg.database_url)
    log_dir = run_dir / "logs" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / "loadtest.log")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    source = "embedded" if embedded else ("--database-url" if cfg.database_url else "DATABASE_URL")
    console.print(f"database: {source}; logs: {log_dir}")
    try:
        return asyncio.run(run(cfg, db_url, source, log_dir, console))
    except (MediumError, RuntimeError, OSError) as exc:
        log.exception("loadtest failed")
        console.print(f"[bold red]loadtest failed:[/] {exc} (logs: {log_dir})")
        return 2
    finally:
        root.removeHandler(handler)
        handler.close()
        if embedded is not None:
            embedded.stop()
            if not os.environ.get("MEDIUM_DATA_DIR"):
                shutil.rmtree(run_dir / "pg", ignore_errors=True)


def child_env(cfg: Config, secret: str) -> dict[str, str]:
    return {"MEDIUM_TIME_SCALE": repr(cfg.time_scale), "MEDIUM_LLM": cfg.llm,
            "MEDIUM_LLM_LATENCY": cfg.llm_latency, "MEDIUM_LLM_SEED": str(cfg.seed),
            "MEDIUM_JWT_SECRET": secret, "PYTHONUNBUFFERED": "1",
            "MEDIUM_LOG_LEVEL": os.environ.get("MEDIUM_LOG_LEVEL", "WARNING"),
            # the provider's concurrency limit must not be lower than the worker's
            "MEDIUM_LLM_CONCURRENCY": os.environ.get("MEDIUM_LLM_CONCURRENCY", str(max(16, cfg.worker_concurrency)))}


async def run(cfg: Config, db_url: str, source: str, log_dir: Path, console: Console) -> int:
    secret = Settings().medium_jwt_secret.get_secret_value()
    frames = await stack_mod.prepare(db_url, cfg.scenario, cfg.frames, secret)
    frame_ids = [f.frame_id for f in frames]
    pool = await store.create_pool(db_url, max_size=3)
    st = OpsStore(pool)
    stack: stack_mod.Stack | None = None
    if cfg.api is None:
        stack = stack_mod.Stack(db_url=db_url, workers=cfg.workers, env=child_env(cfg, secret), log_dir=log_dir,
                                worker_args=["--concurrency", str(cfg.worker_concurrency), "--lease",
                                             str(cfg.lease)], seed=cfg.seed)
    sampler = stack_mod.Sampler()
    try:
        if stack is not None:
            await stack.start()
        api_url = cfg.api or (stack.url if stack else "")
        think = THINK_MEDIAN_GAME_SECONDS * cfg.time_scale
        uniform = REALTIME_THINK if cfg.pacing == "realtime" else None
        # One HTTP client for every simulated player (a bounded pool, per-request tokens): the
        # simulator stays one light process however many players it runs.
        async with httpx.AsyncClient(base_url=api_url, timeout=30.0, trust_env=False,
                                     limits=httpx.Limits(max_connections=100)) as http:
            players = [Player(api=api_url, frame_id=f.frame_id, seed=cfg.seed * 100_003 + i, think_median=think,
                              think_uniform=uniform, http=http, **p)
                       for i, (f, p) in enumerate((f, p) for f in frames for p in f.players)]
            return await _simulate(cfg, st, stack, sampler, players, frame_ids, frames, source, log_dir,
                                   console, api_url)
    finally:
        if stack is not None:
            await stack.stop()
        await pool.close()


async def _simulate(cfg: Config, st: OpsStore, stack: stack_mod.Stack | None, sampler: stack_mod.Sampler,
                    players: list[Player], frame_ids: list[str], frames: list[stack_mod.Frame], source: str,
                    log_dir: Path, console: Console, api_url: str) -> int:
    started = time.time()
    monitor = Monitor(frame_ids, started, cfg.duration, players=len(players))
    interrupted = asyncio.Event()
    main_task = asyncio.current_task()

    def on_sigint() -> None:
        if interrupted.is_set() and main_task is not None:
            main_task.cancel()
        interrupted.set()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)

    async def tick() -> None:
        while True:
            clients = sum(1 for p in players if p.connected)
            await monitor.poll(st, clients)
            sampler.sample(stack.pids() if stack else {})
            if stack is not None:
                monitor.kills, monitor.restarts = len(stack.kills), sum(c.restarts for c in stack.workers)
            await asyncio.sleep(max(0.0, 1.0 - (time.time() - started) % 1.0))

    async def every(seconds: float, fn: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            await fn()

    recovery = Recovery(ms=[])

    async def recover(k: stack_mod.Kill) -> None:
        """The time from a kill to the next claim of each window the victim held (its claim
        times are the claiming worker's clock; the snapshot follows the kill at once)."""
        pending = set(await st.run_claimed_by(frame_ids, k.child))
        deadline = time.time() + RECOVERY_WAIT_S
        while pending and time.time() < deadline:
            for wid, at in (await st.run_claimed_since(sorted(pending), k.t)).items():
                recovery.ms.append(max(0.0, (at - k.t) * 1000))
                pending.discard(wid)
            await asyncio.sleep(0.05)
        recovery.unrecovered += len(pending)  # cancelled meanwhile, or still stranded

    async def kill() -> None:
        if stack is not None and (k := stack.kill_random_worker(time.time())):
            log.info("killed worker", extra={"action": "kill_worker", "child": k.child, "pid": k.pid})
            side.append(asyncio.create_task(recover(k), name="recover"))

    async def drop() -> None:
        live = [p for p in players if p.connected]
        if live:
            await live[int(time.time() * 1000) % len(live)].drop()

    listeners = [asyncio.create_task(p.listen(), name=f"ws:{p.name}") for p in players]
    actors = [asyncio.create_task(p.act(), name=f"act:{p.name}") for p in players]
    side = [asyncio.create_task(tick(), name="tick")]
    if cfg.kill_worker_every > 0 and stack is not None:
        side.append(asyncio.create_task(every(cfg.kill_worker_every, kill), name="kill"))
    if cfg.drop_client_every > 0:
        side.append(asyncio.create_task(every(cfg.drop_client_every, drop), name="drop"))
    drained, delivered, stop_at, drained_at = False, False, time.time(), time.time()
    data: report.Data | None = None
    try:
        with Live(get_renderable=monitor.render, console=console, refresh_per_second=2, transient=False):
            monitor.phase = "running"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interrupted.wait(), timeout=cfg.duration)
            stop_at = time.time()
            monitor.phase = "draining"
            for p in players:
                p.stop_acting()
            for t in side[1:]:
                t.cancel()
            await asyncio.gather(*actors, return_exceptions=True)
            await _pause_npcs(st, frame_ids)
            drained = await _drain(st, frame_ids, stop_at)
            drained_at = time.time()
            monitor.phase = "delivering"
            data = await report.fetch(st, frame_ids)
            delivered = await _delivered(data, players)
            sampler.sample(stack.pids() if stack else {})
            monitor.phase = "done"
    finally:
        for p in players:
            await p.close()
        for t in [*side, *actors]:
            t.cancel()
        await asyncio.gather(*listeners, *side, *actors, return_exceptions=True)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)

    if data is None:  # the load ran to its end or was stopped; either way it read its data
        raise RuntimeError("the load test ended without reading its results")
    doc, series = report.compute(data, players, stop_at=stop_at, started=started,
                                 warmup=min(WARMUP_SECONDS, cfg.duration / 4))
    details = doc.pop("details")
    doc["processes"] = sampler.report(stack)
    own = resource.getrusage(resource.RUSAGE_SELF)
    doc["processes"]["simulator"] = {"cpu_s": round(own.ru_utime + own.ru_stime, 2),
                                     "players": len(players), "max_rss_mb": round(own.ru_maxrss / 1024, 1)}
    doc = {k: doc[k] for k in ("counts", "latency_ms", "first_token_ms", "llm", "processes", "invariants")}
    doc["run"] = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "database_url": redact(cfg.database_url),
        "characters": sum(len(f.players) + f.npcs for f in frames),
        "players": len(players), "npcs": sum(f.npcs for f in frames), "database": source,
        "api_url": api_url, "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
        "ran_s": round(stop_at - started, 1), "drain_s": round(drained_at - stop_at, 1), "drained": drained,
        "delivered": delivered,
        "interrupted": interrupted.is_set(), "log_dir": str(log_dir),
        "think_s": (list(REALTIME_THINK) if cfg.pacing == "realtime"
                    else {"median": THINK_MEDIAN_GAME_SECONDS * cfg.time_scale}),
        "worker_restarts": stack.restarts if stack else {},
        "kills": [{"t": round(k.t - started, 1), "child": k.child, "pid": k.pid} for k in stack.kills]
        if stack else [],
    }
    doc["recovery_ms"] = {**{k: None if v is None else round(v, 1) for k, v in summarize(recovery.ms).items()
                             if k in ("p50", "max")},
                          "windows": len(recovery.ms), "unrecovered": recovery.unrecovered}
    doc["details"] = details
    report.print_report(doc, Console())
    if cfg.report:
        cfg.report.parent.mkdir(parents=True, exist_ok=True)
        cfg.report.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        console.print(f"report: {cfg.report}")
    if cfg.plot:
        chars = doc["run"]["characters"]
        plot.save(cfg.plot, series=series, samples=monitor.samples, started=started,
                  title=f"medium loadtest: {cfg.frames} frame(s), {chars} characters, time scale "
                        f"{cfg.time_scale}, {cfg.workers} workers, llm {cfg.llm} latency {cfg.llm_latency}"
                        + (f", SIGKILL a worker every {cfg.kill_worker_every:g} s" if cfg.kill_worker_every else ""),
                  marks={"players stop": stop_at - started, "drained": drained_at - started},
                  kills=[k.t - started for k in stack.kills] if stack else [])
        console.print(f"plot: {cfg.plot}")
    return 0 if all(v == "PASS" for v in doc["invariants"].values()) else 1


def redact(url: str | None) -> str | None:
    """A URL without its password (reports get committed)."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url) if url else url


async def _pause_npcs(st: OpsStore, frame_ids: list[str]) -> None:
    """Actors read the frame's budget on every pass: 0 stops them acting."""
    await st.pause_actors(frame_ids)


async def _drain(st: OpsStore, frame_ids: list[str], stop_at: float) -> bool:
    """Wait, for at most 30 s plus the longest remaining window, until the frames are idle (no
    open or claimed window, twice in a row), or at least settled: everything committed before
    ``stop_at`` resolved (or visibly failed), every window opened before it finished, and
    nothing overdue (NPC actors may still be finishing a pass that began before they were
    paused). Returns whether that happened in time."""
    start = time.time()
    status = await st.drain_status(frame_ids, stop_at, report.OVERDUE_SECONDS)
    deadline = start + DRAIN_EXTRA_SECONDS + max(0.0, (status.last_due or start) - start)
    quiet = 0
    while True:
        status = await st.drain_status(frame_ids, stop_at, report.OVERDUE_SECONDS)
        idle = status.live == 0
        settled = status.live_old == 0 and status.pending_old == 0 and status.overdue == 0
        quiet = quiet + 1 if idle or settled else 0
        if quiet >= 2:
            return True
        if time.time() > deadline:
            return False
        await asyncio.sleep(0.25 if not quiet else 0.5)


async def _delivered(data: report.Data, players: list[Player]) -> bool:
    """Wait (bounded) until every player has received every narrative of the snapshot that is
    its own (later ones, from NPCs finishing a pass, are not checked)."""
    by_user = {p.user_id: p for p in players}
    wanted = [(by_user[s["user_id"]], s["id"]) for s in data.solid if s["user_id"] in by_user]
    deadline = time.time() + DELIVERY_SECONDS
    while True:
        if all(sid in p.log.narratives for p, sid in wanted):
            return True
        if time.time() > deadline:
            return False
        await asyncio.sleep(0.1)
