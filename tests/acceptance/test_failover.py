"""Failover in a second: a SIGKILLed worker's claimed windows are reclaimed as soon as
Postgres ends its session, not after the lease (here 600 s, far beyond the test's timeouts).

Each worker holds a claim-session advisory lock on its LISTEN connection and stamps its
claims with it; ``claim_due_windows`` treats a claim whose lock nobody holds as claimable.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from synthesis import scenario, store
from tests.acceptance import harness

pytestmark = pytest.mark.acceptance


async def _claims(st: store.Store, worker: str) -> dict[str, tuple[int | None, int]]:
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, claim_session, attempts FROM windows "
                                "WHERE status = 'claimed' AND claimed_by = $1", worker)
    return {str(r["id"]): (r["claim_session"], r["attempts"]) for r in rows}


async def test_killed_workers_windows_are_reclaimed_before_the_lease(
        st: store.Store, db_url: str, tmp_path: Path) -> None:
    inst = await scenario.install(st, scenario.parse_scenario(harness.crowd(4)))
    # Slow narrations keep windows claimed; the lease would hold them for ten minutes.
    slow = harness.env(MEDIUM_TIME_SCALE="0.01", MEDIUM_LLM_LATENCY="fixed:15s", MEDIUM_LOG_LEVEL="INFO")
    with harness.workers(db_url, tmp_path, 1, environ=slow, extra=["--lease", "600"]) as (victim,):
        driver = harness.Driver(st, inst.frame_id, inst.characters, per_character=1)
        await driver.run()
        assert driver.committed == 4, driver.errors

        async def all_claimed() -> bool:
            return len(await _claims(st, "w0")) == 4

        assert await harness.wait_until(all_claimed, timeout=60), await harness.window_counts(st, inst.frame_id)
        held = await _claims(st, "w0")
        assert all(session is not None for session, _ in held.values()), held  # stamped with its session
        # While the victim's session lives, nobody else may take its windows.
        probe = await st.claim_due_windows(harness.SystemClock().now(), limit=10, worker_id="probe",
                                           lease_seconds=1)
        assert probe == []

        os.kill(victim.pid, signal.SIGKILL)
        rescuer = harness.Proc(["worker", "--database-url", db_url, "--id", "w1", "--lease", "600"],
                               harness.env(MEDIUM_TIME_SCALE="0.01"), tmp_path / "w1.log")
        try:

            async def all_done() -> bool:
                return await harness.window_counts(st, inst.frame_id) == {"done": 4}

            # The lease has ~600 s left: only the ended session makes these windows claimable.
            assert await harness.wait_until(all_done, timeout=60), await harness.window_counts(st, inst.frame_id)
            harness.assert_alive([rescuer])
        finally:
            rescuer.stop()
    async with st.pool.acquire() as conn:
        attempts = await conn.fetch("SELECT id, attempts, claimed_by FROM windows WHERE frame_id = $1",
                                    inst.frame_id)
    assert {str(r["id"]) for r in attempts} == set(held)
    assert all(r["attempts"] == 2 for r in attempts), attempts  # claimed once by each worker
    inv = await harness.check_invariants(st, inst.frame_id)
    assert inv["not_exactly_once"] == []
    assert inv["out_of_order"] == []
