"""``medium bench timers``: medium's window timers against peers, in one process tree.

medium's side: N windows (one per character, as the schema requires) are inserted with
wall-clock due times; a real ``workers.worker.Worker`` (LISTEN wake + SKIP LOCKED claims +
poll fallback) runs with a handler that records the moment the Medium would begin
gathering. Lateness = that moment minus the window's due time. Same workloads, same
percentile code (``benchmarks._stats``) as the peers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks import peers
from synthesis import migrations, store
from synthesis.store_ops import OpsStore
from synthesis.types import Window
from workers.runtime import freeze_startup_objects
from workers.worker import Worker

CHARACTERS_PER_FRAME = 100
# The tuned settings of the "medium" row: every window in flight at once, one claim for the
# whole burst, a lease no test outlives. "medium-stock" runs a Worker as `medium worker`
# builds it by default (16 in flight, claims of 16, 30 s lease, 1 s poll fallback).
TUNED: dict[str, Any] = {"concurrency": 10000, "claim_batch": 5000, "lease_seconds": 600, "poll_interval": 1.0}
STOCK: dict[str, Any] = {}


async def _setup(st: OpsStore, n: int) -> list[uuid.UUID]:
    """Frames and n characters; returns the character ids."""
    ids: list[uuid.UUID] = []
    async with st.transaction() as conn:
        for start in range(0, n, CHARACTERS_PER_FRAME):
            frame_id = await st.bench_insert_frame(conn, f"bench {start}")
            ids += await st.bench_insert_characters(conn, frame_id, min(CHARACTERS_PER_FRAME, n - start))
    return ids


async def _insert_windows(st: OpsStore, characters: list[uuid.UUID], dues: list[float]
                          ) -> dict[uuid.UUID, int]:
    """One open window per character with the given due times, in ONE statement."""
    now = datetime.now(UTC)
    async with st.transaction() as conn:
        windows = await st.bench_insert_windows(conn, characters, dues, now)
    index = {cid: i for i, cid in enumerate(characters)}
    return {wid: index[cid] for wid, cid in windows.items()}


async def run_medium(dsn: str, workload: peers.Workload, *, settings: dict[str, Any] | None = None,
                     parallel_claims: int = 1) -> peers.PeerResult:
    """medium's timers under one Worker built with ``settings`` (default ``TUNED``)."""
    settings = TUNED if settings is None else settings
    async with peers.fresh_database(dsn, "medium") as url:
        await migrations.apply(url)
        pool = await store.create_pool(url, min_size=4, max_size=8)
        st = OpsStore(pool)
        try:
            characters = await _setup(st, workload.n)
            rec = peers._Recorder(workload.n)
            slots: dict[uuid.UUID, int] = {}

            async def handler(w: Window) -> None:
                rec.hit(slots[w.id])  # the moment the Medium would begin gathering

            worker = Worker(st, None, dsn=url, handler=handler, parallel_claims=parallel_claims, **settings)
            freeze_startup_objects()  # as the `medium worker` process does before serving
            runner = asyncio.create_task(worker.run())
            await asyncio.sleep(peers.SETTLE_S)
            dues = workload.due_times(time.time())
            slots.update(await _insert_windows(st, characters, dues))
            await rec.wait(dues)
            worker.stop()
            await runner
            note = f"1 worker, concurrency {worker.concurrency}, claim batch {worker.claim_batch} " \
                   f"x{parallel_claims}, {worker.stats.notifications} NOTIFYs, {worker.stats.polls} idle polls"
            return rec.result(workload, dues, note)
        finally:
            await pool.close()


async def run(dsn: str, *, engines: list[str] | None = None, spread_n: int = 1000,
              spread_s: float = 10.0, burst_n: int = 5000,
              progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Both workloads for medium and each peer. Output: top level keyed by engine (spread),
    plus ``"burst"``: the same shape for the burst workload."""
    known = ["medium", "medium-stock", *peers.PEERS]
    names = engines or known
    if unknown := sorted(set(names) - set(known)):
        raise ValueError(f"unknown engines {unknown}; choose from {known}")
    out: dict[str, Any] = {"burst": {}}
    for workload in (peers.Workload.spread(spread_n, spread_s), peers.Workload.burst(burst_n)):
        for name in names:
            progress(f"{workload.name}: {name} (n={workload.n}) ...")
            try:
                if name in ("medium", "medium-stock"):
                    res = (await run_medium(dsn, workload, settings=TUNED if name == "medium" else STOCK)).to_dict()
                else:
                    res = (await peers.PEERS[name](dsn, workload)).to_dict()
            except Exception as exc:  # report and go on with the others
                res = {"n": workload.n, "fired": 0, "duplicates": 0, "missing": workload.n,
                       "lateness_ms": {"p50": None, "p90": None, "p99": None, "max": None},
                       "drain_ms": None, "note": f"error: {exc!r}"}
            lat = res["lateness_ms"]
            progress(f"  fired {res['fired']}/{res['n']} dup {res['duplicates']} missing "
                     f"{res['missing']} p50 {lat['p50']} p99 {lat['p99']} max {lat['max']} ms"
                     + (f" drain {res['drain_ms']} ms" if res.get("drain_ms") is not None else ""))
            (out["burst"] if workload.is_burst else out)[name] = res
    return out
