"""``medium bench throughput``: full syntheses per second (gather → compile → scripted LLM with
zero latency → parse → route) at 1, 2 and 4 worker processes, and database round trips per
synthesis (counted in-process on the store)."""

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
from synthesis import migrations, store
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from synthesis.store_ops import OpsStore
from workers.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
PER_FRAME = 50


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


async def round_trips(dsn: str, n: int = 200) -> dict[str, Any]:
    async with peers.fresh_database(dsn, "roundtrips") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=2, max_size=8)
        try:
            st = CountingStore(pool)
            await seed(st, n)
            CountingStore.calls = 0
            w = Worker(st, Registry(Settings(MEDIUM_LLM="scripted")), dsn=url, burst=True,
                       listen=False, concurrency=16)
            await w.run()
            return {"windows": w.stats.done, "round_trips": CountingStore.calls,
                    "per_synthesis": round(CountingStore.calls / max(1, w.stats.done), 2)}
        finally:
            await pool.close()


async def processes(dsn: str, workers: int, n: int) -> dict[str, Any]:
    async with peers.fresh_database(dsn, f"tp{workers}") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=1, max_size=4)
        st = OpsStore(pool)
        try:
            await seed(st, n)
            env = {**os.environ, "MEDIUM_LLM": "scripted", "MEDIUM_LOG_LEVEL": "WARNING"}
            env.pop("MEDIUM_LLM_LATENCY", None)
            t0 = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, "-m", "workers", "worker", "--burst", "--no-actors",
                                       "--database-url", url, "--id", f"tp{i}"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for i in range(workers)]
            codes = [await asyncio.to_thread(p.wait) for p in procs]
            elapsed = time.perf_counter() - t0
            totals = await st.bench_window_totals()
            done, first, last = totals.done, totals.first_claimed, totals.last_completed
            busy = (last - first).total_seconds() if first and last else elapsed
            return {"workers": workers, "windows": done, "exit_codes": codes,
                    "seconds": round(busy, 3), "windows_per_second": round(done / busy, 1),
                    "wall_seconds_incl_startup": round(elapsed, 3)}
        finally:
            await pool.close()


async def run(dsn: str, *, n: int = 1000, worker_counts: tuple[int, ...] = (1, 2, 4),
              progress: Callable[[str], None] = print) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "processes": {}}
    for k in worker_counts:
        progress(f"throughput: {k} worker process(es), {n} windows ...")
        res = await processes(dsn, k, n)
        progress(f"  {res['windows_per_second']} windows/s ({res['windows']} in {res['seconds']} s)")
        out["processes"][str(k)] = res
    base = out["processes"][str(worker_counts[0])]["windows_per_second"]
    for res in out["processes"].values():
        res["ratio_vs_1"] = round(res["windows_per_second"] / base, 2) if base else None
    progress("round trips per synthesis ...")
    out["round_trips"] = await round_trips(dsn)
    progress(f"  {out['round_trips']['per_synthesis']} per synthesis")
    return out
