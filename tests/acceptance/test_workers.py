"""Distributed workers as real processes against a real Postgres (issue: workers)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from synthesis import scenario, store, store_api
from tests.acceptance import harness

pytestmark = pytest.mark.acceptance
TIME_SCALE = "0.01"


async def install_crowd(st: store.Store, n: int) -> scenario.Installed:
    return await scenario.install(st, scenario.parse_scenario(harness.crowd(n)))


async def test_crash_one_worker_exactly_once(st: store.Store, db_url: str, tmp_path: Path) -> None:
    inst = await install_crowd(st, 20)
    environ = harness.env(MEDIUM_TIME_SCALE=TIME_SCALE, MEDIUM_LLM_LATENCY="lognormal:150ms")
    with harness.workers(db_url, tmp_path, 3, environ=environ,
                         extra=["--lease", "2", "--concurrency", "8"]) as procs:
        driver = harness.Driver(st, inst.frame_id, inst.characters, per_character=10)
        drive = asyncio.create_task(driver.run())

        async def victim_busy() -> bool:
            async with st.pool.acquire() as conn:
                return bool(await conn.fetchval(
                    "SELECT count(*) FROM windows WHERE claimed_by = 'w0' AND status = 'claimed'"))

        assert await harness.wait_until(victim_busy, timeout=60)
        os.kill(procs[0].pid, signal.SIGKILL)
        await drive
        assert driver.committed == 200, driver.errors

        async def all_done() -> bool:
            c = await harness.window_counts(st, inst.frame_id)
            return c.get("open", 0) == 0 and c.get("claimed", 0) == 0

        assert await harness.wait_until(all_done, timeout=90), await harness.window_counts(st, inst.frame_id)
    counts = await harness.window_counts(st, inst.frame_id)
    assert counts == {"done": 200}
    inv = await harness.check_invariants(st, inst.frame_id)
    assert inv["windows"] == 200
    assert inv["not_exactly_once"] == []
    assert inv["out_of_order"] == []
    assert inv["overlapping"] == []


async def test_failing_llm_nothing_lost(st: store.Store, db_url: str, tmp_path: Path) -> None:
    inst = await install_crowd(st, 10)
    environ = harness.env(MEDIUM_TIME_SCALE=TIME_SCALE, MEDIUM_LLM_FAIL_RATE="0.3")
    with harness.workers(db_url, tmp_path, 2, environ=environ, extra=["--concurrency", "8"]):
        driver = harness.Driver(st, inst.frame_id, inst.characters, per_character=5)
        await driver.run()
        assert driver.committed == 50

        async def settled() -> bool:
            c = await harness.window_counts(st, inst.frame_id)
            return c.get("open", 0) == 0 and c.get("claimed", 0) == 0

        assert await harness.wait_until(settled, timeout=120)
    counts = await harness.window_counts(st, inst.frame_id)
    assert set(counts) <= {"done", "failed"}, counts
    inv = await harness.check_invariants(st, inst.frame_id)
    assert inv["not_exactly_once"] == []
    async with st.pool.acquire() as conn:
        # Every committed liquid is in a window that ended resolved or visibly failed.
        assert await conn.fetchval(
            "SELECT count(*) FROM liquid l JOIN windows w ON w.id = l.window_id "
            "WHERE (w.status = 'done' AND l.status = 'resolved') "
            "   OR (w.status = 'failed' AND l.status = 'committed')") == 50
        failed = await conn.fetch("SELECT frame_id, id, last_error FROM windows WHERE status = 'failed'")
        assert all(r["last_error"] for r in failed)
    # Failed windows are retryable (the GM's retry): a healthy narrator then finishes them.
    api = store_api.ApiStore(st.pool)
    for r in failed:
        async with api.transaction() as tx:
            assert await api.retry_window(tx, r["frame_id"], r["id"], harness.SystemClock().now())
    with harness.workers(db_url, tmp_path, 1, environ=harness.env(MEDIUM_TIME_SCALE=TIME_SCALE),
                         extra=["--burst"]) as procs:
        assert procs[0].wait(120) == 0
    assert await harness.window_counts(st, inst.frame_id) == {"done": counts["done"] + len(failed)}
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM liquid WHERE status = 'resolved'") == 50


async def test_graceful_sigterm_releases_in_flight(st: store.Store, db_url: str, tmp_path: Path) -> None:
    inst = await install_crowd(st, 6)
    slow = harness.env(MEDIUM_TIME_SCALE=TIME_SCALE, MEDIUM_LLM_LATENCY="fixed:20s")
    with harness.workers(db_url, tmp_path, 1, environ=slow, extra=["--grace", "1"]) as procs:
        driver = harness.Driver(st, inst.frame_id, inst.characters, per_character=1)
        await driver.run()

        async def in_flight() -> bool:
            c = await harness.window_counts(st, inst.frame_id)
            return c.get("claimed", 0) == 6

        assert await harness.wait_until(in_flight, timeout=30)
        t0 = time.monotonic()
        procs[0].signal(signal.SIGTERM)
        code = await asyncio.to_thread(procs[0].wait, 15)
        elapsed = time.monotonic() - t0
        assert code == 0, procs[0].output()
        assert elapsed < 10  # grace is 1 s; generous bound for process teardown on a busy box
    async with st.pool.acquire() as conn:  # released: lease cleared, claimable at once
        released = await conn.fetchval(
            "SELECT count(*) FROM windows WHERE status = 'claimed' AND claimed_by IS NULL "
            "AND lease_expires_at <= now()")
    assert released == 6
    with harness.workers(db_url, tmp_path, 1, environ=harness.env(MEDIUM_TIME_SCALE=TIME_SCALE),
                         extra=["--burst"]) as procs:
        assert procs[0].wait(60) == 0
    assert await harness.window_counts(st, inst.frame_id) == {"done": 6}
