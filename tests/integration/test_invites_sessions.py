"""Invites and sessions (issue 14, item 1): a GM's invite is exchanged at POST /auth/join for a
short access token and a rotating refresh token; revoking the user or the invite ends the
session and its open sockets at once; the WebSocket takes the token in its first message."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from synthesis.clock import FakeClock
from tests.integration.api_support import (
    SECRET,
    bearer,
    cast_of,
    recv_json,
    row_counts,
    running_api,
    serving,
    settings,
)


def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


async def invite(api: Any, frame_id: Any, gm: Any, **body: Any) -> dict[str, Any]:
    r = await api.client.post(f"/frames/{frame_id}/invites", json=body, headers=bearer(gm))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def test_a_character_invite_joins_as_its_player_with_a_short_session(db_url: str) -> None:
    c = clock()
    async with running_api(db_url, clock=c) as api:
        cast = await cast_of(api.st)
        inv = await invite(api, cast.frame_id, cast.gm, character_id=str(cast.ids["Alda"]))
        assert inv["path"] == f"/join/{inv['code']}"
        listed = (await api.client.get(f"/frames/{cast.frame_id}/invites", headers=bearer(cast.gm))).json()
        assert [i["code"] for i in listed] == [None]  # the code is shown once
        r = await api.client.post("/auth/join", json={"code": inv["code"]})
        assert r.status_code == 200, r.text
        s = r.json()
        assert (s["user_id"], s["role"], s["character_id"]) == (str(cast.users["Alda"]), "player",
                                                                  str(cast.ids["Alda"]))
        claims = jwt.decode(s["access_token"], SECRET, algorithms=["HS256"], audience="authenticated")
        assert claims["exp"] - claims["iat"] == 3600 == s["expires_in"]
        assert claims["sid"] == s["session_id"]
        me = await api.client.get(f"/frames/{cast.frame_id}/characters/{cast.ids['Alda']}/knowledge",
                                  headers=auth(s["access_token"]))
        assert me.status_code == 200
        # rotation: the new refresh token works, the old one is a replay that ends the session
        c.advance(1)
        r2 = await api.client.post("/auth/refresh", json={"refresh_token": s["refresh_token"]})
        assert r2.status_code == 200, r2.text
        s2 = r2.json()
        assert s2["refresh_token"] != s["refresh_token"]
        assert s2["session_id"] == s["session_id"]
        replay = await api.client.post("/auth/refresh", json={"refresh_token": s["refresh_token"]})
        assert replay.status_code == 401
        assert "already used" in replay.json()["error"]["message"]
        assert replay.json()["error"]["field"] == "refresh_token"
        gone = await api.client.get(f"/frames/{cast.frame_id}", headers=auth(s2["access_token"]))
        assert gone.status_code == 401
        assert gone.json()["error"]["message"] == "the session was revoked"
        after = await api.client.post("/auth/refresh", json={"refresh_token": s2["refresh_token"]})
        assert after.status_code == 401


async def test_an_open_invite_makes_a_new_player_and_a_bad_code_writes_nothing(db_url: str) -> None:
    async with running_api(db_url, clock=clock()) as api:
        cast = await cast_of(api.st)
        inv = await invite(api, cast.frame_id, cast.gm, max_uses=1)
        before = await row_counts(api.st)
        for body, code, field in (({"code": "nope-nope"}, 404, "code"), ({"code": "bad code!"}, 422, "body.code"),
                                  ({}, 422, "body.code"), ({"code": inv["code"], "x": 1}, 422, "body.x")):
            r = await api.client.post("/auth/join", json=body)
            assert (r.status_code, r.json()["error"]["field"]) == (code, field), (body, r.text)
        assert await row_counts(api.st) == before
        s = (await api.client.post("/auth/join", json={"code": inv["code"]})).json()
        assert s["character_id"] is None
        assert s["role"] == "player"
        frames = (await api.client.get("/frames", headers=auth(s["access_token"]))).json()
        assert [f["id"] for f in frames] == [str(cast.frame_id)]
        used = await api.client.post("/auth/join", json={"code": inv["code"]})
        assert used.status_code == 409
        assert used.json()["error"]["message"] == "this invite has been used up"


async def test_an_expired_invite_is_refused(db_url: str) -> None:
    c = clock()
    async with running_api(db_url, clock=c) as api:
        cast = await cast_of(api.st)
        inv = await invite(api, cast.frame_id, cast.gm, expires_in=60)
        c.advance(61)
        r = await api.client.post("/auth/join", json={"code": inv["code"]})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "this invite has expired"


async def test_a_player_may_not_make_or_list_invites(db_url: str) -> None:
    async with running_api(db_url, clock=clock()) as api:
        cast = await cast_of(api.st)
        for method, path in (("POST", "invites"), ("GET", "invites")):
            r = await api.client.request(method, f"/frames/{cast.frame_id}/{path}",
                                         json={} if method == "POST" else None, headers=bearer(cast.users["Alda"]))
            assert r.status_code == 403, r.text


async def _closed(ws: Any) -> int | None:
    async def drain() -> None:
        while True:
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises(ConnectionClosed):
        await drain()
    return ws.close_code  # type: ignore[no-any-return]


@pytest.mark.parametrize("revoke", ["member", "invite"])
async def test_revocation_ends_the_session_and_its_open_socket(db_url: str, revoke: str) -> None:
    app = create_app(settings(db_url), clock=clock())
    async with serving(app) as base:
        st = app.state.store
        cast = await cast_of(st)
        async with httpx.AsyncClient(base_url=base) as http:
            inv = (await http.post(f"/frames/{cast.frame_id}/invites", json={}, headers=bearer(cast.gm))).json()
            s = (await http.post("/auth/join", json={"code": inv["code"]})).json()
            url = f"{base.replace('http', 'ws', 1)}/frames/{cast.frame_id}/ws?since=0"
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": s["access_token"]}))
                await recv_json(ws)  # the backlog: the socket is authenticated and served
                if revoke == "member":
                    r = await http.delete(f"/frames/{cast.frame_id}/members/{s['user_id']}", headers=bearer(cast.gm))
                    assert r.status_code == 204
                else:
                    r = await http.delete(f"/frames/{cast.frame_id}/invites/{inv['id']}", headers=bearer(cast.gm))
                    assert r.status_code == 200
                    assert r.json()["revoked_at"]
                assert await _closed(ws) == 4403
            again = await http.get("/frames", headers=auth(s["access_token"]))
            assert again.status_code == 401
            refresh = await http.post("/auth/refresh", json={"refresh_token": s["refresh_token"]})
            assert refresh.status_code == 401
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": s["access_token"]}))
                assert await _closed(ws) == 4401


async def test_the_websocket_takes_the_token_in_its_first_message(db_url: str) -> None:
    app = create_app(settings(db_url))
    async with serving(app) as base:
        cast = await cast_of(app.state.store)
        url = f"{base.replace('http', 'ws', 1)}/frames/{cast.frame_id}/ws?since=0"
        tok = bearer(cast.gm)["Authorization"].split()[1]
        async with connect(url) as ws, httpx.AsyncClient(base_url=base) as http:
            await ws.send(json.dumps({"type": "auth", "token": tok}))
            r = await http.patch(f"/frames/{cast.frame_id}", json={"name": "Renamed"}, headers=bearer(cast.gm))
            assert r.status_code == 200
            first = await recv_json(ws)
            assert (first["type"], first["data"]["name"]) == ("frame", "Renamed")
        for message, code in (("hello", 4401), (json.dumps({"type": "auth"}), 4401),
                              (json.dumps({"type": "auth", "token": "x.y.z"}), 4401), (b"\x00\x01", 1003),
                              ("x" * 5000, 1009)):
            async with connect(url) as ws:
                await ws.send(message)
                assert await _closed(ws) == code, message


async def test_a_supabase_user_joins_with_the_same_invite_code(db_url: str) -> None:
    """With Supabase Auth configured (JWKS) the server mints nothing: a signed-in Supabase user
    sends its own token with the code and becomes the member; without a token the join is 401."""
    from tests.integration.test_jwks import ISSUER, JwksServer, signed

    server = JwksServer()
    try:
        async with running_api(db_url, clock=clock(), MEDIUM_JWKS_URL=server.url, MEDIUM_JWT_ISSUER=ISSUER) as api:
            cast = await cast_of(api.st)
            gm = signed(cast.gm)
            r = await api.client.post(f"/frames/{cast.frame_id}/invites", json={}, headers=auth(gm))
            assert r.status_code == 201, r.text
            code = r.json()["code"]
            anonymous = await api.client.post("/auth/join", json={"code": code})
            assert anonymous.status_code == 401
            assert "Supabase Auth" in anonymous.json()["error"]["message"]
            newcomer = uuid.uuid4()
            async with api.st.transaction() as conn:  # Supabase Auth made the user
                await api.st.ensure_user(newcomer, conn=conn)
            joined = await api.client.post("/auth/join", json={"code": code}, headers=auth(signed(newcomer)))
            assert joined.status_code == 200, joined.text
            s = joined.json()
            assert (s["user_id"], s["role"], s["access_token"], s["refresh_token"]) == (str(newcomer), "player",
                                                                                       None, None)
            frames = await api.client.get("/frames", headers=auth(signed(newcomer)))
            assert [f["id"] for f in frames.json()] == [str(cast.frame_id)]
            refresh = await api.client.post("/auth/refresh", json={"refresh_token": f"{uuid.uuid4()}.x"})
            assert refresh.status_code == 401
    finally:
        server.close()


@pytest.mark.parametrize("how", ["logout", "replayed refresh token"])
async def test_a_revoked_sessions_open_socket_closes_at_once(db_url: str, how: str) -> None:
    app = create_app(settings(db_url), clock=clock())
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        cast = await cast_of(app.state.store)
        inv = (await http.post(f"/frames/{cast.frame_id}/invites", json={}, headers=bearer(cast.gm))).json()
        s = (await http.post("/auth/join", json={"code": inv["code"]})).json()
        url = f"{base.replace('http', 'ws', 1)}/frames/{cast.frame_id}/ws?since=0"
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": s["access_token"]}))
            await recv_json(ws)  # served
            if how == "logout":
                r = await http.post("/auth/logout", headers=auth(s["access_token"]))
                assert r.status_code == 204
            else:
                assert (await http.post("/auth/refresh", json={"refresh_token": s["refresh_token"]})).status_code == 200
                stolen = await http.post("/auth/refresh", json={"refresh_token": s["refresh_token"]})
                assert stolen.status_code == 401
            assert await _closed(ws) == 4401
        # the membership stays: only that session ended
        assert (await app.state.store.member(cast.frame_id, UUID(s["user_id"]))) is not None
