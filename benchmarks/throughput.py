"""``medium bench throughput``: full syntheses per second (claim → gather → compile → narrator →
parse → route → apply) at 1, 2 and 4 worker processes, per narrator, beside the floor under
them, all measured in the same run:

* ``baseline.insert_rows_per_s``: single-row autocommit INSERTs through the store's asyncpg
  pool, one at a time, on the same server. ``ratio_vs_insert`` divides syntheses/s by it.
* ``narrators``: ``canned`` (a precomputed valid reply, so only the product's own cost counts)
  and ``scripted`` (the offline narrator, which reads its whole prompt to answer it).
* ``stages``: CPU milliseconds per synthesis by stage, from a serial in-process run (one
  synthesis at a time, so a stage's thread CPU is its own: ``synthesis/stages.py``). ``other``
  is the rest of the synthesis's CPU (logging, result building, the pool).
* per process count: windows/s, the worker processes' own CPU per synthesis (their rusage),
  and Postgres's CPU per synthesis (every postgres process of the machine: clean only when
  nothing else uses the server during the run).
* ``round_trips``: database round trips per synthesis, counted in-process on the store.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import peers
from synthesis import medium, migrations, stages, store
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from synthesis.store_ops import OpsStore
from workers.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
PER_FRAME = 50
NARRATORS = ("canned", "scripted")
TICK = os.sysconf("SC_CLK_TCK")


async def seed(st: OpsStore, n: int) -> None:
    """n characters (50 per frame), each with one committed action in a window due now."""
    now = datetime.now(UTC)
    async with st.transaction() as conn:
        for start in range(0, n, PER_FRAME):
            frame = await st.bench_insert_frame(conn, f"tp {start}", world="A busy port.", scenario="Crowded.")
            await st.bench_insert_people(conn, frame, min(PER_FRAME, n - start))
        await st.bench_seed_due_windows(conn, now)


class CountingStore(OpsStore):
    """Counts database round trips made through the store."""

    calls = 0

    async def _run(self, method: str, name: str, args: Any, conn: Any) -> Any:
        CountingStore.calls += 1
        return await super()._run(method, name, args, conn)


def postgres_cpu_seconds() -> float:
    """CPU seconds of every postgres process on this machine, those that have exited included
    (the postmaster's reaped-children time): read from /proc; 0.0 where /proc is not there."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        if comm != "postgres" and not comm.startswith("postgres:"):
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / TICK


async def baseline(dsn: str, n: int = 2000) -> dict[str, Any]:
    """Single-row autocommit INSERTs, one after another, through the store's pool."""
    async with peers.fresh_database(dsn, "tpbase") as url:
        pool = await store.create_pool(url, min_size=1, max_size=1)
        try:
            st = OpsStore(pool)
            await st.bench_baseline_table()
            for i in range(50):  # warm the connection and the statement cache
                await st.bench_baseline_insert(-1 - i, "warm")
            t0 = time.perf_counter()
            for i in range(n):
                await st.bench_baseline_insert(i, "row")
            elapsed = time.perf_counter() - t0
            return {"rows": n, "seconds": round(elapsed, 3), "insert_rows_per_s": round(n / elapsed, 1),
                    "ms_per_insert": round(elapsed * 1000 / n, 4)}
        finally:
            await pool.close()


async def round_trips(dsn: str, n: int = 200) -> dict[str, Any]:
    async with peers.fresh_database(dsn, "roundtrips") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=2, max_size=8)
        try:
            st = CountingStore(pool)
            await seed(st, n)
            CountingStore.calls = 0
            w = Worker(st, Registry(Settings(MEDIUM_LLM="canned")), dsn=url, burst=True,
                       listen=False, concurrency=16)
            await w.run()
            return {"windows": w.stats.done, "round_trips": CountingStore.calls,
                    "per_synthesis": round(CountingStore.calls / max(1, w.stats.done), 2)}
        finally:
            await pool.close()


async def stage_cpu(dsn: str, narrator: str, n: int) -> dict[str, Any]:
    """A serial run in this process: claim one window, synthesize it, repeat. Thread CPU per
    stage (``synthesis.stages``) and in all, per synthesis."""
    async with peers.fresh_database(dsn, f"stages_{narrator}") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=1, max_size=2)
        try:
            st = OpsStore(pool)
            await seed(st, n)
            registry = Registry(Settings(MEDIUM_LLM=narrator))
            now = datetime.now(UTC)
            done = 0
            with stages.measuring() as measured:
                cpu0, wall0 = time.thread_time(), time.perf_counter()
                while True:
                    with stages.stage("claim"):
                        batch = await st.claim_due_windows(now, limit=1, worker_id="stages", lease_seconds=60)
                    if not batch:
                        break
                    await medium.synthesize(st, registry, batch[0].frame_id, batch[0].id, now=now)
                    done += 1
                cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
            await registry.aclose()
            per = measured.per_call_ms(done)
            total_ms = cpu * 1000 / max(1, done)
            per["other"] = round(max(0.0, total_ms - sum(per.values())), 4)
            return {"narrator": narrator, "windows": done, "cpu_ms_per_synthesis": round(total_ms, 3),
                    "wall_ms_per_synthesis": round(wall * 1000 / max(1, done), 3), "stages_cpu_ms": per}
        finally:
            await pool.close()


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """(exit code, CPU seconds) of a finished child, from its rusage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


async def processes(dsn: str, workers: int, n: int, narrator: str) -> dict[str, Any]:
    async with peers.fresh_database(dsn, f"tp{workers}_{narrator}") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=1, max_size=4)
        st = OpsStore(pool)
        try:
            await seed(st, n)
            env = {**os.environ, "MEDIUM_LLM": narrator, "MEDIUM_LOG_LEVEL": "WARNING"}
            env.pop("MEDIUM_LLM_LATENCY", None)
            pg0 = postgres_cpu_seconds()
            t0 = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, "-m", "workers", "worker", "--burst", "--no-actors",
                                       "--database-url", url, "--id", f"tp{i}"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for i in range(workers)]
            finished = [await asyncio.to_thread(_wait, p) for p in procs]
            elapsed = time.perf_counter() - t0
            pg_cpu = postgres_cpu_seconds() - pg0
            totals = await st.bench_window_totals()
            done, first, last = totals.done, totals.first_claimed, totals.last_completed
            busy = (last - first).total_seconds() if first and last else elapsed
            worker_cpu = sum(cpu for _, cpu in finished)
            return {"workers": workers, "narrator": narrator, "windows": done,
                    "exit_codes": [code for code, _ in finished],
                    "seconds": round(busy, 3), "windows_per_second": round(done / busy, 1),
                    "wall_seconds_incl_startup": round(elapsed, 3),
                    "worker_cpu_ms_per_synthesis": round(worker_cpu * 1000 / max(1, done), 3),
                    "postgres_cpu_ms_per_synthesis": round(pg_cpu * 1000 / max(1, done), 3)}
        finally:
            await pool.close()


async def run(dsn: str, *, n: int = 1000, worker_counts: tuple[int, ...] = (1, 2, 4),
              narrators: tuple[str, ...] = NARRATORS, stage_windows: int = 300,
              progress: Callable[[str], None] = print) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "cpus": os.cpu_count(), "narrators": {}}
    progress("baseline: single-row INSERTs through asyncpg ...")
    out["baseline"] = await baseline(dsn)
    floor = out["baseline"]["insert_rows_per_s"]
    progress(f"  {floor} rows/s ({out['baseline']['ms_per_insert']} ms per insert)")
    for narrator in narrators:
        progress(f"stages ({narrator} narrator): {stage_windows} syntheses, one at a time ...")
        doc: dict[str, Any] = {"stages": await stage_cpu(dsn, narrator, stage_windows), "processes": {}}
        progress(f"  {doc['stages']['cpu_ms_per_synthesis']} ms CPU per synthesis: {doc['stages']['stages_cpu_ms']}")
        for k in worker_counts:
            progress(f"throughput ({narrator}): {k} worker process(es), {n} windows ...")
            res = await processes(dsn, k, n, narrator)
            res["ratio_vs_insert"] = round(res["windows_per_second"] / floor, 4) if floor else None
            progress(f"  {res['windows_per_second']} windows/s ({res['windows']} in {res['seconds']} s; "
                     f"worker CPU {res['worker_cpu_ms_per_synthesis']} ms, postgres CPU "
                     f"{res['postgres_cpu_ms_per_synthesis']} ms per synthesis)")
            doc["processes"][str(k)] = res
        base = doc["processes"][str(worker_counts[0])]["windows_per_second"]
        for res in doc["processes"].values():
            res["ratio_vs_1"] = round(res["windows_per_second"] / base, 2) if base else None
        out["narrators"][narrator] = doc
    progress("round trips per synthesis ...")
    out["round_trips"] = await round_trips(dsn)
    progress(f"  {out['round_trips']['per_synthesis']} per synthesis")
    return out
