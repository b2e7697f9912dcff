"""``synthesis.listener.Listener`` against a real Postgres: NOTIFY round trip, and a terminated
backend is replaced, with the catch-up hook called again."""

from __future__ import annotations

import asyncio
import contextlib

from synthesis import store
from synthesis.listener import Listener


async def test_notify_and_reconnect_after_the_backend_is_terminated(st: store.Store, db_url: str) -> None:
    got: asyncio.Queue[str] = asyncio.Queue()
    connected: asyncio.Queue[int] = asyncio.Queue()
    lst = Listener(db_url, "medium_listener_test", got.put_nowait, application_name="medium-listener-test",
                   on_connect=lambda: connected.put_nowait(lst.pid or 0))
    task = asyncio.create_task(lst.run())
    try:
        first = await asyncio.wait_for(connected.get(), 10)
        async with st.pool.acquire() as conn:
            await conn.execute("SELECT pg_notify('medium_listener_test', 'one')")
            assert await asyncio.wait_for(got.get(), 10) == "one"
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", first)
        second = await asyncio.wait_for(connected.get(), 10)
        assert second != first
        assert lst.connects == 2
        assert lst.failures == 1
        async with st.pool.acquire() as conn:
            name = await conn.fetchval("SELECT application_name FROM pg_stat_activity WHERE pid = $1", second)
            await conn.execute("SELECT pg_notify('medium_listener_test', 'two')")
        assert name == "medium-listener-test"
        assert await asyncio.wait_for(got.get(), 10) == "two"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
