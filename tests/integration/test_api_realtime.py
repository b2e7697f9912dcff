"""The realtime gateway in a real uvicorn server, against a real Postgres: close codes, catch-up
then live with no gap and no duplicate, one LISTEN connection per process, slow clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from synthesis import medium, store
from tests.integration.api_support import bearer, cast_of, new_user, recv_json, serving, settings, ws_url
from tests.integration.helpers import Cast, commit, scripted_registry


@contextlib.asynccontextmanager
async def gateway_app(db_url: str) -> AsyncIterator[tuple[Any, str]]:
    app = create_app(settings(db_url))
    async with serving(app) as base:
        yield app, base


async def visible_events(st: store.Store, user: UUID, frame_id: UUID, since: int = 0) -> list[tuple[int, str]]:
    """What RLS says this user may see: the truth the gateway must deliver."""
    async with st.as_user(user) as conn:
        return [(e.seq, e.type) for e in await st.events_since(frame_id, since, limit=100_000, conn=conn)]


async def close_code(ws: ClientConnection) -> int | None:
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    return ws.close_code


async def play_round(st: store.Store, cast: Cast, names: tuple[str, ...], text: str) -> None:
    """Each named character commits an action, and every due window is synthesized."""
    now = datetime.now(UTC)
    for name in names:
        await commit(st, cast, name, f"{text} ({name})", -1, now)
    reg = scripted_registry()
    try:
        later = now + timedelta(hours=1)
        for w in await st.claim_due_windows(later, limit=50, worker_id="test", lease_seconds=30):
            await medium.synthesize(st, reg, w.frame_id, w.id, now=later)
    finally:
        await reg.aclose()


class Reader:
    """Collects one connection's messages in the background."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                self.messages.append(json.loads(raw))

    def cursors(self) -> list[int]:
        return [m["cursor"] for m in self.messages]

    async def until(self, count: int, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.ws.close()
        await self.task


async def test_close_codes(db_url: str) -> None:
    async with gateway_app(db_url) as (app, base):
        cast = await cast_of(app.state.store)
        cases = [
            (ws_url(base, cast.frame_id, None, raw_token="nope"), 4401),
            (ws_url(base, cast.frame_id, None, raw_token=""), 4401),
            (ws_url(base, cast.frame_id, new_user()), 4403),
            (ws_url(base, new_user(), cast.gm), 4404),
            (ws_url(base, cast.frame_id, cast.gm).replace("since=0", "since=-3"), 1008),
        ]
        for url, code in cases:
            async with connect(url) as ws:
                assert await close_code(ws) == code, url


async def test_a_removed_member_is_disconnected_and_sent_nothing_more(db_url: str) -> None:
    async with gateway_app(db_url) as (app, base):
        st = app.state.store
        cast = await cast_of(st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        stays, leaves = Reader(await connect(ws_url(base, cast.frame_id, alda))), \
            await connect(ws_url(base, cast.frame_id, brix))
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.delete(f"/frames/{cast.frame_id}/members/{brix}", headers=bearer(cast.gm))
            assert r.status_code == 204, r.text
        assert await close_code(leaves) == 4403
        assert "no longer a member" in (leaves.close_reason or "")
        await play_round(st, cast, ("Alda",), "I look around")
        truth = await visible_events(st, alda, cast.frame_id)
        await stays.until(len(truth))
        assert [(m["cursor"], m["type"]) for m in stays.messages] == truth
        await stays.close()


async def test_catch_up_then_live_routes_by_audience(db_url: str) -> None:
    async with gateway_app(db_url) as (app, base):
        st = app.state.store
        cast = await cast_of(st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        await play_round(st, cast, ("Alda", "Brix"), "I watch the door")  # history before connecting

        readers = {u: Reader(await connect(ws_url(base, cast.frame_id, u))) for u in (alda, brix, cast.gm)}
        await play_round(st, cast, ("Alda", "Brix", "Zed"), "I sit down")  # live
        for user, reader in readers.items():
            truth = await visible_events(st, user, cast.frame_id)
            await reader.until(len(truth))
            await asyncio.sleep(0.2)  # nothing more may arrive
            assert [(m["cursor"], m["type"]) for m in reader.messages] == truth
        gm_types = {m["type"] for m in readers[cast.gm].messages}
        assert gm_types == {"outcome", "narrative", "timer", "liquid", "frame"}
        for user in (alda, brix):
            msgs = readers[user].messages
            assert all(m["data"]["user_id"] == str(user) for m in msgs if m["type"] == "narrative")
            assert [m for m in msgs if m["type"] == "outcome"] == [
                m for m in readers[cast.gm].messages if m["type"] == "outcome"]
            frame = next(m for m in msgs if m["type"] == "frame")["data"]
            assert frame["my_role"] == "player"
            assert frame["id"] == str(cast.frame_id)
        # data is the row exactly as REST returns it
        outcome = next(m for m in readers[alda].messages if m["type"] == "outcome")
        assert {"id", "frame_id", "seq", "clock", "narrator", "actions_resolved"} <= set(outcome["data"])
        narrative = next(m for m in readers[alda].messages if m["type"] == "narrative")["data"]
        assert "directive" not in narrative
        assert narrative["character_id"] == str(cast.ids["Alda"])
        for reader in readers.values():
            await reader.close()


async def test_reconnects_under_load_never_gap_or_duplicate(db_url: str) -> None:
    """Events are written continuously while a client disconnects and reconnects with its last
    cursor many times; the concatenation of what it received is exactly the truth, in order."""
    async with gateway_app(db_url) as (app, base):
        st = app.state.store
        cast = await cast_of(st)
        fid = cast.frame_id
        stop = asyncio.Event()

        async def writer() -> None:
            while not stop.is_set():
                async with st.transaction() as conn:
                    await st.lock_frame(conn, fid)
                    n = random.randint(1, 5)
                    await st.emit(conn, fid, [("frame", fid, None)] * n)
                await asyncio.sleep(random.uniform(0, 0.01))

        task = asyncio.create_task(writer())
        got: list[int] = []
        try:
            for _ in range(15):
                async with connect(ws_url(base, fid, cast.gm, since=got[-1] if got else 0)) as ws:
                    deadline = asyncio.get_running_loop().time() + random.uniform(0.05, 0.3)
                    while asyncio.get_running_loop().time() < deadline:
                        with contextlib.suppress(TimeoutError):
                            got.append((await recv_json(ws, 0.05))["cursor"])
        finally:
            stop.set()
            await task
        async with connect(ws_url(base, fid, cast.gm, since=got[-1])) as ws:
            last = (await st.frames_seq([fid]))[fid]
            while got[-1] < last:
                got.append((await recv_json(ws))["cursor"])
        assert got == list(range(1, last + 1))


async def test_one_listen_connection_and_slow_clients(db_url: str) -> None:
    async with gateway_app(db_url) as (app, base):
        st, gateway = app.state.store, app.state.gateway
        cast = await cast_of(st)
        fid = cast.frame_id
        fast = [Reader(await connect(ws_url(base, fid, cast.gm))) for _ in range(20)]
        while gateway.client_count(fid) < 20:  # registered (the handshake comes first)
            await asyncio.sleep(0.01)
        gateway.queue_size = 3  # clients connecting from now on get a tiny queue
        async with connect(ws_url(base, fid, cast.gm)) as slow:
            await asyncio.sleep(0.1)
            async with st.pool.acquire() as conn:
                listeners = await conn.fetch(
                    "SELECT pid, query FROM pg_stat_activity WHERE application_name = 'medium-gateway' "
                    "AND datname = current_database()")
            assert len(listeners) == 1
            assert listeners[0]["query"].startswith("LISTEN")
            assert listeners[0]["pid"] == gateway.listener_pid
            async with st.transaction() as conn:
                await st.lock_frame(conn, fid)
                await st.emit(conn, fid, [("frame", fid, None)] * 10)  # one batch > its queue
            assert await close_code(slow) == 4408
        for reader in fast:
            await reader.until(10)
            assert reader.cursors() == list(range(1, 11))
            await reader.close()
        assert gateway.counters["slow_closes"] == 1


@pytest.mark.parametrize("clients", [1, 5])
async def test_metrics_count_websocket_clients(db_url: str, clients: int) -> None:

    async with gateway_app(db_url) as (app, base):
        cast = await cast_of(app.state.store)
        readers = [Reader(await connect(ws_url(base, cast.frame_id, cast.gm))) for _ in range(clients)]
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=base) as c:
            text = (await c.get("/metrics")).text
        assert f"medium_websocket_clients {clients}" in text
        for r in readers:
            await r.close()
