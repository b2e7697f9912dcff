"""Workers survive a Postgres restart (`pg_ctl restart -m fast`) mid-run.

Uses its own embedded pgserver so restarting it disturbs nothing else on the machine."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
from pathlib import Path

import pytest

from synthesis import database, migrations, scenario, store
from tests.acceptance import harness

pytestmark = pytest.mark.acceptance


async def test_workers_reconnect_after_database_restart(tmp_path: Path) -> None:
    from pgserver._commands import pg_ctl

    db = database.start_embedded(Path(tempfile.mkdtemp(prefix="medium-restart-")))
    try:
        await migrations.apply(db.url)
        pool = await store.create_pool(db.url, max_size=4)
        st = store.Store(pool)
        try:
            inst = await scenario.install(st, scenario.parse_scenario(harness.crowd(8)))
            environ = harness.env(MEDIUM_TIME_SCALE="0.01", MEDIUM_LLM_LATENCY="fixed:50ms")
            with harness.workers(db.url, tmp_path, 2, environ=environ, extra=["--lease", "3"]) as procs:
                driver = harness.Driver(st, inst.frame_id, inst.characters, per_character=12)
                drive = asyncio.create_task(driver.run(deadline=180))

                async def halfway() -> bool:
                    return (await harness.window_counts(st, inst.frame_id)).get("done", 0) >= 30

                assert await harness.wait_until(halfway, timeout=60)
                await asyncio.to_thread(pg_ctl, ["-w", "restart", "-m", "fast"], pgdata=db.server.pgdata,
                                        user=db.server.system_user, timeout=30)
                await drive
                harness.assert_alive(procs)
                assert driver.committed == 96, driver.errors[-3:]

                async def all_done() -> bool:
                    c = await harness.window_counts(st, inst.frame_id)
                    return c == {"done": c.get("done", 0)} and c.get("done", 0) > 0

                assert await harness.wait_until(all_done, timeout=120)
            inv = await harness.check_invariants(st, inst.frame_id)
            assert inv["not_exactly_once"] == []
            assert inv["out_of_order"] == []
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM liquid WHERE status='resolved'") == 96
                stamps = [r["created_at"] for r in await conn.fetch(
                    "SELECT created_at FROM solid ORDER BY created_at")]
            gap = max((b - a).total_seconds() for a, b in itertools.pairwise(stamps))
            print(f"longest gap between narratives across the restart: {gap:.2f} s")
        finally:
            await pool.close()
    finally:
        # pgserver only stops the postmaster it started; after the restart, stop ours by hand.
        with contextlib.suppress(Exception):
            pg_ctl(["-w", "stop", "-m", "fast"], pgdata=db.server.pgdata, user=db.server.system_user,
                   timeout=30)
        db.stop()
