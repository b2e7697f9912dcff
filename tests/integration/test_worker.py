"""The worker against a real Postgres with an injected clock (no sleeping for timers)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from synthesis import store
from synthesis.clock import FakeClock
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players
from workers.worker import Worker


async def test_burst_drains_due_windows_in_order(st: store.Store, db_url: str) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    t0 = clock.now()
    await commit(st, cast, "Alda", "I attack", -2, t0)
    await commit(st, cast, "Cato", "I search the room", -1, t0)
    clock.advance(6)  # Alda's window (5 s) is due, Cato's (15 s) is not
    w = Worker(st, scripted_registry(), dsn=db_url, clock=clock, burst=True, listen=False)
    await w.run()
    assert w.stats.done == 1
    solids = await st.solids(cast.frame_id)
    assert [s.character_id for s in solids] == [cast.ids["Alda"]]
    clock.advance(10)
    w2 = Worker(st, scripted_registry(), dsn=db_url, clock=clock, burst=True, listen=False)
    await w2.run()
    solids = await st.solids(cast.frame_id)
    # Cato's window, plus perceive windows: none (Alda's outcome involved only Alda).
    assert [s.character_id for s in solids] == [cast.ids["Alda"], cast.ids["Cato"]]
    assert w.stats.lateness_ms[0] >= 0


async def test_a_claim_pass_that_raises_does_not_end_the_worker(st: store.Store, db_url: str) -> None:
    class Glitching(store.Store):
        """The first claim raises something no one anticipated (asyncpg after a restart did)."""

        glitches = 0

        async def claim_due_windows(self, *a: Any, **kw: Any) -> Any:
            if not self.glitches:
                self.glitches += 1
                raise RuntimeError("unanticipated driver state")
            return await super().claim_due_windows(*a, **kw)

    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(6)
    glitching = Glitching(st.pool)
    w = Worker(glitching, scripted_registry(), dsn=db_url, clock=clock, burst=True, listen=False)
    await w.run()
    assert glitching.glitches == 1
    assert w.stats.done == 1
    assert [s.character_id for s in await st.solids(cast.frame_id)] == [cast.ids["Alda"]]


async def test_failing_llm_retries_then_marks_failed(st: store.Store, db_url: str) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    await commit(st, cast, "Alda", "I attack", -2, clock.now())
    reg = scripted_registry(MEDIUM_LLM_FAIL_RATE=1.0)
    for _ in range(4):
        clock.advance(120)
        w = Worker(st, reg, dsn=db_url, clock=clock, burst=True, listen=False, max_attempts=3,
                   retry_base=1.0)
        await w.run()
    async with st.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts, last_error FROM windows")
        assert await conn.fetchval("SELECT count(*) FROM outcomes") == 0
        assert await conn.fetchval("SELECT count(*) FROM solid") == 0
    assert row["status"] == "failed"
    assert row["attempts"] == 3
    assert "injected failure" in row["last_error"] or "ParseError" in row["last_error"]


async def test_one_synthesis_in_flight_per_character(st: store.Store, db_url: str) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    first = await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(6)
    claimed = await st.claim_due_windows(clock.now(), limit=10, worker_id="a", lease_seconds=30)
    assert [c.id for c in claimed] == [first.liquid.window_id]
    # A second commit opens a new window (the first is in flight); it becomes due...
    await commit(st, cast, "Alda", "I attack again", -3, clock.now())
    clock.advance(10)
    # ...but cannot be claimed while the first is in flight, by any worker.
    assert await st.claim_due_windows(clock.now(), limit=10, worker_id="b", lease_seconds=30) == []
    # When the lease expires, the in-flight window (not the newer one) is reclaimed first.
    clock.advance(30)
    again = await st.claim_due_windows(clock.now(), limit=10, worker_id="b", lease_seconds=30)
    assert [c.id for c in again] == [first.liquid.window_id]
    assert again[0].attempts == 2
    _ = timedelta


async def test_heartbeat_extends_only_own_leases(st: store.Store, db_url: str) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    sub = await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(6)
    [w] = await st.claim_due_windows(clock.now(), limit=5, worker_id="a", lease_seconds=10)
    assert w.lease_expires_at == clock.now() + timedelta(seconds=10)
    clock.advance(8)
    assert await st.heartbeat([w.id], clock.now(), 10, "b") == []  # not b's lease
    assert await st.heartbeat([w.id], clock.now(), 10, "a") == [w.id]
    got = await st.get_window(cast.frame_id, w.id)
    assert got
    assert got.lease_expires_at == clock.now() + timedelta(seconds=10)
    clock.advance(5)  # past the original lease, within the extended one: not reclaimable
    assert await st.claim_due_windows(clock.now(), limit=5, worker_id="b", lease_seconds=10) == []
    assert sub.liquid.window_id == w.id


async def test_the_worker_sleeps_on_the_injected_clock_until_the_next_due_window(
        st: store.Store, db_url: str) -> None:
    """No burst, no NOTIFY: the worker's only wake-up is ``clock.sleep(until_next_due)``. The
    test moves a manual FakeClock; nothing here waits for a timer in real time."""
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players(perceive=False))
    t0 = clock.now()
    a = await commit(st, cast, "Alda", "I attack", -2, t0)  # due t0+5
    c = await commit(st, cast, "Cato", "I search the room", -1, t0)  # due t0+15
    w = Worker(st, scripted_registry(), dsn=db_url, clock=clock, listen=False, poll_interval=60)
    task = asyncio.create_task(w.run())

    async def settled(done: int) -> None:
        """Until the worker has finished ``done`` windows and sleeps on the clock again."""
        for _ in range(2000):
            if w.stats.done == done and not w.in_flight and clock.sleepers >= 2:  # loop + heartbeat
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"worker did not settle at {done} done: {w.stats}")

    try:
        await settled(0)
        clock.advance(4.999)
        await settled(0)  # not due yet: the worker is still asleep
        clock.advance(0.001)
        await settled(1)
        wa = await st.get_window(cast.frame_id, a.liquid.window_id)  # type: ignore[arg-type]
        assert wa is not None
        assert wa.status == "done"
        assert wa.completed_at == t0 + timedelta(seconds=5)
        assert w.stats.lateness_ms[0] == 0.0  # claimed exactly at its due moment, in clock time
        clock.advance(10)
        await settled(2)
        wc = await st.get_window(cast.frame_id, c.liquid.window_id)  # type: ignore[arg-type]
        assert wc is not None
        assert wc.completed_at == t0 + timedelta(seconds=15)
    finally:
        w.stop()
        await asyncio.wait_for(task, timeout=30)
