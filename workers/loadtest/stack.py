"""The stack under test: the database, the scenario frames, the API and the supervised workers,
plus fault injection (SIGKILL a random worker) and process sampling (psutil)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthesis import auth, database, installed, migrations, scenario, store
from workers.supervisor import Child, Supervisor, medium_argv

with installed.extra("loadtest", "medium loadtest"):
    import httpx
    import psutil


@dataclass
class Frame:
    frame_id: str
    players: list[dict[str, Any]]  # {character_id, user_id, name, token, actions}
    npcs: int


def resolve_database(explicit: str | None) -> tuple[str, database.ResolvedDatabase | None, Path]:
    """(url, embedded server or None, run dir). No URL: an embedded PostgreSQL under
    ``MEDIUM_DATA_DIR/loadtest`` when that is set, else under a fresh temporary directory."""
    url = explicit or os.environ.get("DATABASE_URL") or None
    data_dir = os.environ.get("MEDIUM_DATA_DIR")
    base = Path(data_dir) / "loadtest" if data_dir else Path(tempfile.mkdtemp(prefix="medium-loadtest-"))
    base.mkdir(parents=True, exist_ok=True)
    if url:
        return url, None, base
    resolved = database.start_embedded(base)
    return resolved.url, resolved, base


async def prepare(url: str, scenario_file: Path, frames: int, secret: str) -> list[Frame]:
    """Migrate, then install the scenario ``frames`` times with NPC actors always on."""
    sc = scenario.load_scenario_file(scenario_file)
    await store.ensure_database(url)
    await migrations.apply(url)
    pool = await store.create_pool(url, max_size=2)
    out: list[Frame] = []
    try:
        st = store.Store(pool)
        specs = {c.name: c for c in sc.characters}
        for i in range(frames):
            inst = await scenario.install(st, sc, actors_always=True,
                                          frame_name=f"{sc.name} #{i + 1}" if frames > 1 else None)
            players = [{"character_id": str(c.id), "user_id": str(c.user_id), "name": c.name,
                        "token": auth.issue_token(secret, c.user_id),
                        "actions": [a.model_dump() for a in specs[c.name].actions]}
                       for c in inst.characters if c.user_id is not None]
            out.append(Frame(str(inst.frame_id), players, sum(1 for c in inst.characters if c.user_id is None)))
    finally:
        await pool.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Kill:
    t: float
    child: str
    pid: int


class Stack:
    """The API and N workers under an in-process ``Supervisor`` (signals stay ours)."""

    def __init__(self, *, db_url: str, workers: int, env: dict[str, str], log_dir: Path,
                 worker_args: list[str], seed: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.api = Child("api", medium_argv("api", "--host", "127.0.0.1", "--port", str(self.port),
                                            "--database-url", db_url), log=log_dir / "api.log")
        self.workers = [Child(f"worker-{i + 1}", medium_argv(
            "worker", "--database-url", db_url, "--id", f"worker-{i + 1}", *worker_args),
            log=log_dir / f"worker-{i + 1}.log") for i in range(workers)]
        self.supervisor = Supervisor([self.api, *self.workers], env=env, handle_signals=False)
        self.kills: list[Kill] = []
        self.rng = random.Random(seed ^ 0x5EED)  # noqa: S311  a seeded choice of victims
        self._task: asyncio.Task[int] | None = None

    async def start(self, timeout: float = 90.0) -> None:
        self._task = asyncio.create_task(self.supervisor.run(), name="supervisor")
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self._task.done():
                    raise RuntimeError("the supervisor exited during startup")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the API did not become healthy on {self.url} within {timeout:.0f} s "
                           f"(exit codes: {self.api.history})")

    def pids(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in [self.api, *self.workers]
                if c.proc is not None and c.proc.returncode is None}

    def kill_random_worker(self, t: float) -> Kill | None:
        alive = [c for c in self.workers if c.proc is not None and c.proc.returncode is None]
        if not alive:
            return None
        victim = self.rng.choice(alive)
        proc = victim.proc
        if proc is None:  # alive means started
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        k = Kill(t, victim.name, proc.pid)
        self.kills.append(k)
        return k

    @property
    def restarts(self) -> dict[str, int]:
        return {c.name: c.restarts for c in [self.api, *self.workers]}

    async def stop(self) -> None:
        self.supervisor.stop()
        if self._task is not None:
            await self._task


@dataclass
class ProcStat:
    role: str
    peak_rss: int = 0
    cpu: float = 0.0


@dataclass
class Sampler:
    """Peak RSS and CPU seconds per process, sampled about once a second. A worker that is
    killed keeps the CPU it had at its last sample; its restart is a new pid."""

    procs: dict[int, ProcStat] = field(default_factory=dict)
    peak_total: dict[str, int] = field(default_factory=dict)
    handles: dict[int, psutil.Process] = field(default_factory=dict)
    host_cpu: list[float] = field(default_factory=list)
    pg_start: dict[int, float] = field(default_factory=dict)  # postgres pid -> CPU at first sight
    pg_last: dict[int, float] = field(default_factory=dict)
    pg_first_pass: bool = True

    def sample(self, pids: dict[str, int]) -> None:
        totals: dict[str, int] = {}
        for name, pid in [*pids.items(), ("loadtest", os.getpid())]:
            role = "workers" if name.startswith("worker") else name
            try:
                proc = self.handles.get(pid)
                if proc is None:
                    proc = self.handles[pid] = psutil.Process(pid)
                with proc.oneshot():
                    rss = proc.memory_info().rss
                    t = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            stat = self.procs.setdefault(pid, ProcStat(role))
            stat.peak_rss = max(stat.peak_rss, rss)
            stat.cpu = t.user + t.system
            totals[role] = totals.get(role, 0) + rss
        for role, rss in totals.items():
            self.peak_total[role] = max(self.peak_total.get(role, 0), rss)
        self.host_cpu.append(psutil.cpu_percent(interval=None))
        self._postgres()

    def _postgres(self) -> None:
        """CPU of every postgres process on this host: per pid, from when it was first seen
        (0 for backends that start during the run); a backend that exits keeps its last sample."""
        for p in psutil.process_iter(["name", "cpu_times"]):
            if p.info["name"] not in ("postgres", "postmaster") or p.info["cpu_times"] is None:
                continue
            cpu = p.info["cpu_times"].user + p.info["cpu_times"].system
            self.pg_start.setdefault(p.pid, cpu if self.pg_first_pass else 0.0)
            self.pg_last[p.pid] = cpu
        self.pg_first_pass = False

    @property
    def pg_cpu(self) -> float:
        return sum(max(0.0, self.pg_last[pid] - start) for pid, start in self.pg_start.items())

    def report(self, stack: Stack | None) -> dict[str, Any]:
        mb = 1024 * 1024

        def role(name: str) -> dict[str, Any]:
            stats = [s for s in self.procs.values() if s.role == name]
            return {"processes": len(stats),
                    "peak_rss_mb": round(max((s.peak_rss for s in stats), default=0) / mb, 1),
                    "peak_rss_total_mb": round(self.peak_total.get(name, 0) / mb, 1),
                    "cpu_seconds": round(sum(s.cpu for s in stats), 2)}

        out: dict[str, Any] = {"loadtest": role("loadtest")}
        if stack is not None:
            out["api"] = role("api")
            out["workers"] = {**role("workers"), "configured": len(stack.workers),
                              "restarts": sum(c.restarts for c in stack.workers),
                              "killed": len(stack.kills)}
        samples = self.host_cpu[1:] or [0.0]
        out["host"] = {"cpus": psutil.cpu_count(), "cpu_percent_mean": round(sum(samples) / len(samples), 1),
                       "cpu_percent_max": round(max(samples), 1)}
        out["postgres"] = {"cpu_seconds": round(self.pg_cpu, 2),
                           "note": "every postgres process on this host, over the run"}
        return out
