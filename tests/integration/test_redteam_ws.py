"""Red team, WebSocket (issue 14, item 7): bad, expired and revoked tokens (in the URL and in
the first message), another frame, a ``since`` that is negative, non-numeric or beyond the
head, oversize and binary messages, a flood and a slow reader that never reads. Each ends in
a close code with a reason (a cursor beyond the head is served from the head); no row is
written; the server is healthy and still serves a good client afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api import ws_auth
from api.app import create_app
from tests.integration.api_support import Api, bearer, cast_of, recv_json, serving, settings, token
from tests.integration.redteam import Tally
from tests.integration.test_redteam_http import alg_none, counts

Send = Callable[[ClientConnection], Awaitable[None]]


async def closed(ws: ClientConnection) -> tuple[int | None, str]:
    async def drain() -> None:
        while True:
            await asyncio.wait_for(ws.recv(), 10)

    with pytest.raises(ConnectionClosed):
        await drain()
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


def say(*messages: Any) -> Send:
    async def run(ws: ClientConnection) -> None:
        for m in messages:
            await ws.send(m)
    return run


def auth_then(tok: str, *messages: Any) -> Send:
    return say(json.dumps({"type": "auth", "token": tok}), *messages)


async def test_the_websocket_table(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_auth, "AUTH_SECONDS", 0.5)  # the silent client's wait, not a timing assertion
    tally = Tally("websocket")
    app = create_app(settings(db_url))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        st = app.state.store
        cast, other = await cast_of(st), await cast_of(st)
        alda = cast.users["Alda"]
        assert alda
        gm_tok = token(cast.gm)
        inv = (await http.post(f"/frames/{cast.frame_id}/invites", json={}, headers=bearer(cast.gm))).json()
        s = (await http.post("/auth/join", json={"code": inv["code"]})).json()
        await http.post("/auth/logout", headers={"Authorization": f"Bearer {s['access_token']}"})
        ws_base = base.replace("http", "ws", 1)

        def url(frame: Any = cast.frame_id, since: str = "0", tok: str | None = None) -> str:
            q = f"since={since}" + (f"&token={tok}" if tok is not None else "")
            return f"{ws_base}/frames/{frame}/ws?{q}"

        expired = token(alda, ttl=-3600)
        forged = jwt.encode({"sub": str(alda), "role": "authenticated", "exp": 2**31}, "x" * 40, algorithm="HS256")
        cases: list[tuple[str, str, str, Send, int, str]] = [
            ("bad token", "garbage in the URL", url(tok="nope"), say(), 4401, "invalid"),
            ("bad token", "empty in the URL", url(tok=""), say(), 4401, "missing"),
            ("bad token", "expired in the URL", url(tok=expired), say(), 4401, "expired"),
            ("bad token", "forged in the URL", url(tok=forged), say(), 4401, "signature"),
            ("bad token", "alg none in the URL", url(tok=alg_none(alda)), say(), 4401, "invalid"),
            ("bad token", "service_role in the URL", url(tok=token(alda, role="service_role")), say(), 4401, "role"),
            ("bad token", "revoked session in the URL", url(tok=s["access_token"]), say(), 4401, "revoked"),
            ("bad token", "expired in the first message", url(), auth_then(expired), 4401, "expired"),
            ("bad token", "revoked in the first message", url(), auth_then(s["access_token"]), 4401, "revoked"),
            ("bad token", "alg none in the first message", url(), auth_then(alg_none(alda)), 4401, "invalid"),
            ("bad first message", "not JSON", url(), say("hello"), 4401, "first message"),
            ("bad first message", "JSON, not auth", url(), say(json.dumps({"type": "subscribe"})), 4401,
             "first message"),
            ("bad first message", "a list", url(), say("[1, 2]"), 4401, "first message"),
            ("bad first message", "auth without a token", url(), say(json.dumps({"type": "auth"})), 4401, "no token"),
            ("bad first message", "token not a string", url(), say(json.dumps({"type": "auth", "token": 7})), 4401,
             "no token"),
            ("bad first message", "binary", url(), say(b"\x00\xff"), 1003, "binary"),
            ("bad first message", "oversize", url(), say("x" * 10_000), 1009, "too big"),
            ("bad first message", "silence", url(), say(), 4401, "within"),
            ("another frame", "not a member", url(frame=other.frame_id, tok=token(alda)), say(), 4403, "member"),
            ("another frame", "not a member, first message", url(frame=other.frame_id), auth_then(token(alda)), 4403,
             "member"),
            ("another frame", "no such frame", url(frame=uuid.uuid4(), tok=gm_tok), say(), 4404, "no such frame"),
            ("another frame", "not a frame id", url(frame="not-a-uuid", tok=gm_tok), say(), 4404, "no such frame"),
            ("bad since", "negative", url(since="-1", tok=gm_tok), say(), 1008, "since"),
            ("bad since", "non-numeric", url(since="abc", tok=gm_tok), say(), 1008, "since"),
            ("bad since", "fractional", url(since="1.5", tok=gm_tok), say(), 1008, "since"),
            ("bad since", "empty", url(since="", tok=gm_tok), say(), 1008, "since"),
            ("bad since", "huge exponent", url(since="1e999", tok=gm_tok), say(), 1008, "since"),
            ("after auth", "binary", url(tok=gm_tok), say(b"\x01\x02\x03"), 1003, "binary"),
            ("after auth", "oversize", url(tok=gm_tok), say("y" * 5000), 1009, "too big"),
            ("after auth", "a flood", url(tok=gm_tok), say(*(["{}"] * 300)), 4429, "too many"),
            ("after auth", "a flood after a first-message auth", url(), auth_then(gm_tok, *(["ping"] * 300)), 4429,
             "too many"),
        ]
        api = Api(app, http)
        before = await counts(api)
        for kind, case_id, target, send, code, says in cases:
            async with connect(target, max_size=2**20) as ws:
                await send(ws)
                got, reason = await closed(ws)
            assert (got, says.lower() in reason.lower()) == (code, True), (kind, case_id, got, reason)
            tally.refused(kind)
        assert await counts(api) == before

        # a cursor beyond the head: served from the head (nothing replayed), live events still come
        async with connect(url(since=str(10**15), tok=gm_tok)) as ws:
            r = await http.patch(f"/frames/{cast.frame_id}", json={"name": "After"}, headers=bearer(cast.gm))
            assert r.status_code == 200
            msg = await recv_json(ws)
            assert (msg["type"], msg["data"]["name"]) == ("frame", "After")
        tally.refused("since beyond the head (served from the head)")

        # a slow reader that never reads: its queue overflows and it is closed with 4408
        gateway = app.state.gateway
        gateway.queue_size = 3
        async with connect(url(since=str(10**15), tok=gm_tok)) as slow:
            while gateway.client_count(cast.frame_id) < 1:
                await asyncio.sleep(0.01)
            async with st.transaction() as conn:
                await st.lock_frame(conn, cast.frame_id)
                await st.emit(conn, cast.frame_id, [("frame", cast.frame_id, None)] * 10)
            got, reason = await closed(slow)
            assert (got, "too slow" in reason) == (4408, True)
        tally.refused("slow reader")
        gateway.queue_size = 1000

        assert (await http.get("/health")).json() == {"status": "ok", "database": "ok"}
        async with connect(url(tok=gm_tok)) as ws:  # still serving a good client
            r = await http.patch(f"/frames/{cast.frame_id}", json={"name": "Healthy"}, headers=bearer(cast.gm))
            assert r.status_code == 200
            while (msg := await recv_json(ws))["data"].get("name") != "Healthy":
                pass
    doc = tally.save()
    assert doc["refused"] >= 30, doc
