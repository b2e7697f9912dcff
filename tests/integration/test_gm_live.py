"""The GM's controls reach connected clients live, each by its audience (a real uvicorn and
real WebSockets): pause and resume as ``frame`` messages to every member, timers to their
owner only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import connect

from api.app import create_app
from synthesis.clock import FakeClock
from tests.integration.api_support import bearer, cast_of, serving, settings, ws_url
from tests.integration.helpers import commit
from tests.integration.test_api_realtime import Reader


@contextlib.asynccontextmanager
async def live_app(db_url: str) -> AsyncIterator[tuple[Any, str, FakeClock]]:
    clock = FakeClock()
    app = create_app(settings(db_url), clock=clock)
    async with serving(app) as base:
        yield app, base, clock


async def until(reader: Reader, pred: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The messages so far, once one satisfies ``pred``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(pred(m) for m in reader.messages):
        assert asyncio.get_running_loop().time() < deadline, reader.messages
        await asyncio.sleep(0.02)
    return reader.messages


async def test_pause_and_resume_arrive_live_by_audience(db_url: str) -> None:
    async with live_app(db_url) as (app, base, clock):
        st = app.state.store
        cast = await cast_of(st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        a = await commit(st, cast, "Alda", "I draw", -1, clock.now())
        await commit(st, cast, "Brix", "I watch", -1, clock.now())
        readers = {u: Reader(await connect(ws_url(base, cast.frame_id, u))) for u in (alda, brix, cast.gm)}
        for r in readers.values():
            await until(r, lambda m: m["type"] == "timer")  # the backlog is in
        start = {u: len(r.messages) for u, r in readers.items()}
        async with httpx.AsyncClient(base_url=base) as http:
            resp = await http.post(f"/frames/{cast.frame_id}/pause", headers=bearer(cast.gm))
            assert resp.status_code == 200, resp.text
            for reader in readers.values():  # a message carries the row as it is when sent
                await until(reader, lambda m: m["type"] == "frame" and m["data"]["paused"] is True)
            resp = await http.post(f"/frames/{cast.frame_id}/resume", headers=bearer(cast.gm))
            assert resp.status_code == 200, resp.text
        for user, reader in readers.items():
            msgs = await until(reader, lambda m: m["type"] == "frame" and m["data"]["paused"] is False)
            live = msgs[start[user]:]
            assert [m["data"]["paused"] for m in live if m["type"] == "frame"] == [True, False]
            timers = {m["data"]["character_id"] for m in live if m["type"] == "timer"}
            if user == cast.gm:
                assert timers == {str(cast.ids["Alda"]), str(cast.ids["Brix"])}
            else:
                assert timers == {str(cast.ids["Alda" if user == alda else "Brix"])}
        paused = next(m for m in readers[alda].messages[start[alda]:] if m["type"] == "timer")
        assert paused["data"]["id"] == str(a.liquid.window_id)
        assert paused["data"]["paused"] is True
        for reader in readers.values():
            await reader.close()


async def test_gm_narration_arrives_live_to_every_member_and_its_timers_to_their_owners(db_url: str) -> None:
    async with live_app(db_url) as (app, base, _clock):
        st = app.state.store
        cast = await cast_of(st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        readers = {u: Reader(await connect(ws_url(base, cast.frame_id, u))) for u in (alda, brix, cast.gm)}
        async with httpx.AsyncClient(base_url=base) as http:
            resp = await http.post(f"/frames/{cast.frame_id}/narrate", headers=bearer(cast.gm), json={
                "text": "Thunder", "characters_involved": [str(cast.ids["Brix"]), str(cast.ids["Zed"])]})
            assert resp.status_code == 201, resp.text
        for user, reader in readers.items():
            msgs = await until(reader, lambda m: m["type"] == "outcome")
            await asyncio.sleep(0.2)  # nothing more may arrive
            [outcome] = [m for m in reader.messages if m["type"] == "outcome"]
            assert (outcome["data"]["source"], outcome["data"]["narration"]) == ("gm", "Thunder")
            timers = sorted(m["data"]["character_id"] for m in msgs if m["type"] == "timer")
            want = {cast.gm: sorted([str(cast.ids["Brix"]), str(cast.ids["Zed"])]),
                    brix: [str(cast.ids["Brix"])], alda: []}[user]
            assert timers == want
        for reader in readers.values():
            await reader.close()


async def test_ooc_arrives_live_to_every_member_and_on_catch_up(db_url: str) -> None:
    async with live_app(db_url) as (app, base, _clock):
        st = app.state.store
        cast = await cast_of(st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        readers = {u: Reader(await connect(ws_url(base, cast.frame_id, u))) for u in (alda, brix, cast.gm)}
        async with httpx.AsyncClient(base_url=base) as http:
            resp = await http.post(f"/frames/{cast.frame_id}/ooc", headers=bearer(alda), json={"text": "brb"})
            assert resp.status_code == 201, resp.text
        for reader in readers.values():
            [m] = [m for m in await until(reader, lambda m: m["type"] == "ooc")]
            assert (m["data"]["text"], m["data"]["user_id"], m["cursor"]) == ("brb", str(alda), resp.json()["seq"])
            await reader.close()
        late = Reader(await connect(ws_url(base, cast.frame_id, brix)))  # since=0: the backlog has it
        assert [m["data"]["text"] for m in await until(late, lambda m: m["type"] == "ooc")] == ["brb"]
        await late.close()
