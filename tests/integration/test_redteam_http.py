"""Red team, HTTP by hand (issue 14, item 7): the cases a generator misses. Other users' ids,
other frames' ids, GM-only and admin-only routes as a player, oversize bodies, bad UTF-8, a
wrong content type, replayed, revoked and expired tokens, ``alg: none`` and algorithm
confusion. Each is a clear 4xx naming the field or reason, writes no row, and the server is
healthy after the table. One app, one database: the table runs in seconds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from synthesis.clock import FakeClock
from tests.integration.api_support import SECRET, Api, bearer, cast_of, row_counts, running_api, token
from tests.integration.helpers import Cast
from tests.integration.redteam import Tally, clear_http_error
from tests.integration.test_jwks import ISSUER, RSA_KEY, JwksServer, signed

EXTRA_TABLES = ("invites", "auth_sessions", "character_requests")
# A replayed refresh token is refused AND revokes its session: one frame event (so every gateway
# closes that session's sockets) is the only write it makes.
REVOKES = {"rotated refresh token"}


async def counts(api: Api) -> dict[str, int]:
    out = await row_counts(api.st)
    async with api.st.pool.acquire() as conn:
        for t in EXTRA_TABLES:
            out[t] = await conn.fetchval(f"SELECT count(*) FROM public.{t}")
    return out


@dataclass
class World:
    api: Api
    a: Cast
    b: Cast
    vars: dict[str, Any] = field(default_factory=dict)

    def u(self, name: str, cast: Cast | None = None) -> uuid.UUID:
        user = (cast or self.a).users[name]
        assert user is not None
        return user


Req = Callable[[World], Awaitable[httpx.Response]]


def call(method: str, path: Callable[[World], str], *, as_: Callable[[World], uuid.UUID] | None = None,
         body: Any = None, headers: Callable[[World], dict[str, str]] | None = None,
         raw: bytes | None = None, ctype: str | None = "application/json") -> Req:
    async def run(w: World) -> httpx.Response:
        h: dict[str, str] = {}
        if as_ is not None:
            h.update(bearer(as_(w)))
        if headers is not None:
            h.update(headers(w))
        if raw is not None:
            if ctype:
                h["Content-Type"] = ctype
            return await w.api.client.request(method, path(w), content=raw, headers=h)
        return await w.api.client.request(method, path(w), json=body, headers=h)
    return run


def alda(w: World) -> uuid.UUID:
    return w.u("Alda")


def brix(w: World) -> uuid.UUID:
    return w.u("Brix")


def gm_a(w: World) -> uuid.UUID:
    return w.a.gm


def tok(t: Callable[[World], str]) -> Callable[[World], dict[str, str]]:
    return lambda w: {"Authorization": f"Bearer {t(w)}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(key: bytes, claims: dict[str, Any]) -> str:
    """An HS256 token signed with any bytes as the secret (PyJWT refuses a PEM as an HMAC key,
    which is exactly the algorithm-confusion attack this forges)."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def alg_none(user: uuid.UUID) -> str:
    now = int(time.time())
    claims = {"sub": str(user), "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + 3600}
    head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(claims).encode())}."


def claims_of(user: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": str(user), "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + 3600,
            **extra}


def fa(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/frames/{w.a.frame_id}{suffix}"


def fb(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/frames/{w.b.frame_id}{suffix}"


def liquid_of(name: str, cast: str = "a") -> Callable[[World], dict[str, Any]]:
    return lambda w: {"character_id": str((w.a if cast == "a" else w.b).ids[name]), "content": "I look around"}


def dyn(method: str, path: Callable[[World], str], body: Callable[[World], Any],
        as_: Callable[[World], uuid.UUID] | None = None) -> Req:
    async def run(w: World) -> httpx.Response:
        return await w.api.client.request(method, path(w), json=body(w), headers=bearer(as_(w)) if as_ else {})
    return run


R = str(uuid.uuid4())  # an id nobody has
GM_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "", {"mode": "shared"}), ("POST", "/members", {"user_id": R, "role": "player"}),
    ("DELETE", f"/members/{R}", None), ("POST", "/characters", {"name": "Mole"}),
    ("PATCH", "/characters/{zed}", {"name": "Zed II"}), ("DELETE", "/characters/{zed}", None),
    ("POST", "/affiliations", {"name": "Spies"}), ("PATCH", "/affiliations/{cell}", {"name": "Cell II"}),
    ("DELETE", "/affiliations/{cell}", None), ("PUT", "/affiliations/{cell}/members/{brix}", {"hidden": True}),
    ("DELETE", "/affiliations/{cell}/members/{alda}", None), ("GET", "/characters/{zed}/directive", None),
    ("GET", "/stats", None), ("POST", f"/windows/{R}/retry", None), ("POST", f"/windows/{R}/cancel", None),
    ("POST", "/invites", {}), ("GET", "/invites", None), ("DELETE", f"/invites/{R}", None),
    ("POST", f"/character-requests/{R}/approve", {}), ("POST", f"/character-requests/{R}/reject", {}),
]


def fill(w: World, cast: Cast, suffix: str) -> str:
    return suffix.format(zed=cast.ids["Zed"], brix=cast.ids["Brix"], alda=cast.ids["Alda"],
                         cell=w.vars[f"cell_{'a' if cast is w.a else 'b'}"])


def gm_route(method: str, suffix: str, body: Any, *, cast: str, as_: Callable[[World], uuid.UUID]) -> Req:
    async def run(w: World) -> httpx.Response:
        c = w.a if cast == "a" else w.b
        return await w.api.client.request(method, f"/frames/{c.frame_id}{fill(w, c, suffix)}", json=body,
                                          headers=bearer(as_(w)))
    return run


def table() -> list[tuple[str, str, Req, int, str, str]]:
    """(kind, id, request, status, field, fragment of the message)."""
    cases: list[tuple[str, str, Req, int, str, str]] = []
    for method, suffix, body in GM_ONLY:
        cases.append(("gm-only as a player", f"{method} {suffix}", gm_route(method, suffix, body, cast="a", as_=brix),
                      403, "frame_id", "gm"))
        cases.append(("another frame's GM", f"{method} {suffix}", gm_route(method, suffix, body, cast="b", as_=gm_a),
                      404, "frame_id", "frame not found"))
    cases += [
        ("admin-only", "POST /models", call("POST", lambda w: "/models", as_=gm_a,
                                            body={"name": "m1", "provider": "scripted", "model": "x"}),
         403, "authorization", "admin"),
        ("admin-only", "POST /models/bulk", call("POST", lambda w: "/models/bulk", as_=gm_a, body={"models": [
            {"name": "m2", "provider": "openai", "model": "x", "api_key": "sk-secret-0000"}]}),
         403, "authorization", "admin"),
        ("admin-only", "GET /models/discover", call("GET", lambda w: "/models/discover?base_url=http://127.0.0.1:9",
                                                    as_=gm_a), 403, "authorization", "admin"),
        ("another user's id", "liquid for Brix's character", dyn("POST", fa("/liquid"), liquid_of("Brix"), alda),
         403, "character_id", "character"),
        ("another frame's id", "liquid for a character of frame B", dyn("POST", fa("/liquid"), liquid_of("Alda", "b"),
                                                                       alda), 404, "character_id", "character"),
        ("another user's id", "Brix's knowledge", call("GET", lambda w: f"/frames/{w.a.frame_id}/characters/"
                                                       f"{w.a.ids['Brix']}/knowledge", as_=alda),
         403, "character_id", "player"),
        ("another user's id", "commit Brix's draft", call("POST", lambda w: f"/liquid/{w.vars['brix_draft']}/commit",
                                                          as_=alda), 404, "liquid_id", "liquid"),
        ("another user's id", "edit Brix's draft", call("PATCH", lambda w: f"/liquid/{w.vars['brix_draft']}",
                                                        as_=alda, body={"content": "I confess"}),
         404, "liquid_id", "liquid"),
        ("another user's id", "withdraw Brix's draft", call("DELETE", lambda w: f"/liquid/{w.vars['brix_draft']}",
                                                            as_=alda), 404, "liquid_id", "liquid"),
        ("another frame's id", "read frame B", call("GET", fb(), as_=alda), 404, "frame_id", "frame"),
        ("another frame's id", "frame B's characters", call("GET", fb("/characters"), as_=alda),
         404, "frame_id", "frame"),
        ("another frame's id", "frame B's solid", call("GET", fb("/solid"), as_=alda), 404, "frame_id", "frame"),
        ("another frame's id", "frame B's outcomes", call("GET", fb("/outcomes"), as_=alda), 404, "frame_id", "frame"),
        ("another frame's id", "frame B's requests", call("GET", fb("/character-requests"), as_=alda),
         404, "frame_id", "frame"),
        ("another frame's id", "propose in frame B", call("POST", fb("/character-requests"), as_=alda,
                                                          body={"name": "Spy"}), 404, "frame_id", "frame"),
        ("another frame's id", "invite for frame B's character",
         dyn("POST", fa("/invites"), lambda w: {"character_id": str(w.b.ids["Zed"])}, gm_a),
         404, "character_id", "character"),
        ("another frame's id", "revoke frame B's invite",
         call("DELETE", lambda w: f"/frames/{w.a.frame_id}/invites/{w.vars['invite_b']}", as_=gm_a),
         404, "invite_id", "invite"),
        ("another frame's id", "edit frame B's character in frame A",
         call("PATCH", lambda w: f"/frames/{w.a.frame_id}/characters/{w.b.ids['Zed']}", as_=gm_a,
              body={"name": "Stolen"}), 404, "character_id", "character"),
        ("another frame's id", "frame B's character into frame A's group",
         call("PUT", lambda w: f"/frames/{w.a.frame_id}/affiliations/{w.vars['cell_a']}/members/{w.b.ids['Zed']}",
              as_=gm_a, body={"hidden": False}), 404, "character_id", "character"),
        ("another frame's id", "approve frame B's request in frame A",
         call("POST", lambda w: f"/frames/{w.a.frame_id}/character-requests/{w.vars['request_b']}/approve",
              as_=gm_a, body={}), 404, "request_id", "request"),
        ("oversize body", "70 KB liquid", call("POST", fa("/liquid"), as_=alda,
                                               raw=b'{"content": "' + b"a" * 70_000 + b'"}'),
         413, "body", "larger than"),
        ("oversize body", "70 KB join", call("POST", lambda w: "/auth/join", raw=b'{"code": "' + b"a" * 70_000 + b'"}'),
         413, "body", "larger than"),
        ("bad UTF-8", "liquid", call("POST", fa("/liquid"), as_=alda, raw=b'{"content": "\xff\xfe"}'),
         400, "body", "utf-8"),
        ("bad UTF-8", "join", call("POST", lambda w: "/auth/join", raw=b'{"code": "\xc3\x28"}'), 400, "body", "utf-8"),
        ("bad UTF-8", "lone surrogate", call("POST", fa("/liquid"), as_=alda,
                                             raw=b'{"character_id": "%s", "content": "\\ud800"}' % R.encode()),
         422, "body.content", "string"),
        ("bad UTF-8", "NUL in text", dyn("POST", fa("/liquid"), lambda w: {**liquid_of("Alda")(w), "content": "a\0b"},
                                         alda), 422, "body.content", "nul"),
        ("bad UTF-8", "NUL in a frame name", call("POST", lambda w: "/frames", as_=alda, body={"name": "x\0"}),
         422, "body.name", "nul"),
        ("malformed body", "nested 5000 deep", call("POST", fa("/liquid"), as_=alda, raw=b"[" * 5000 + b"]" * 5000),
         400, "body", "nested"),
        ("malformed body", "truncated JSON", call("POST", fa("/liquid"), as_=alda, raw=b'{"content": "I'),
         422, "body", "malformed json"),
        ("malformed body", "an array", call("POST", fa("/liquid"), as_=alda, raw=b"[1, 2]"), 422, "body", "object"),
        ("wrong content type", "text/plain", call("POST", fa("/liquid"), as_=alda, raw=b'{"content": "hi"}',
                                                  ctype="text/plain"), 415, "content-type", "application/json"),
        ("wrong content type", "form", call("POST", fa("/liquid"), as_=alda, raw=b"content=hi",
                                            ctype="application/x-www-form-urlencoded"),
         415, "content-type", "application/json"),
        ("wrong content type", "none", call("POST", lambda w: "/auth/join", raw=b'{"code": "abc"}', ctype=None),
         415, "content-type", "application/json"),
        ("expired token", "an hour ago", call("GET", fa(), headers=tok(lambda w: token(w.u("Alda"), ttl=-3600))),
         401, "authorization", "expired"),
        ("forged token", "another secret", call("GET", fa(), headers=tok(
            lambda w: jwt.encode(claims_of(w.u("Alda")), "x" * 40, algorithm="HS256"))),
         401, "authorization", "signature"),
        ("forged token", "alg none", call("GET", fa(), headers=tok(lambda w: alg_none(w.u("Alda")))),
         401, "authorization", "invalid"),
        ("forged token", "alg none, no signature dot", call("GET", fa(), headers=tok(
            lambda w: alg_none(w.u("Alda")).rstrip("."))), 401, "authorization", "invalid"),
        ("forged token", "garbage", call("GET", fa(), headers=tok(lambda w: "not.a.jwt")),
         401, "authorization", "invalid"),
        ("forged token", "service_role", call("GET", fa(), headers=tok(
            lambda w: token(w.u("Alda"), role="service_role"))), 401, "authorization", "service_role"),
        ("forged token", "anon", call("GET", fa(), headers=tok(lambda w: token(w.u("Alda"), role="anon"))),
         401, "authorization", "anon"),
        ("forged token", "subject not a user id", call("GET", fa(), headers=tok(
            lambda w: jwt.encode({**claims_of(w.u("Alda")), "sub": "root"}, SECRET, algorithm="HS256"))),
         401, "authorization", "subject"),
        ("forged token", "no exp", call("GET", fa(), headers=tok(
            lambda w: jwt.encode({"sub": str(w.u("Alda")), "role": "authenticated"}, SECRET, algorithm="HS256"))),
         401, "authorization", "exp"),
        ("forged token", "wrong audience", call("GET", fa(), headers=tok(
            lambda w: jwt.encode({**claims_of(w.u("Alda")), "aud": "admin"}, SECRET, algorithm="HS256"))),
         401, "authorization", "audience"),
        ("forged token", "session that does not exist", call("GET", fa(), headers=tok(
            lambda w: token(w.u("Alda"), extra={"sid": R, "fid": str(w.a.frame_id)}))),
         401, "authorization", "unknown session"),
        ("forged token", "malformed session", call("GET", fa(), headers=tok(
            lambda w: token(w.u("Alda"), extra={"sid": "1 OR 1=1", "fid": "x"}))),
         401, "authorization", "malformed session"),
        ("forged token", "no bearer", call("GET", fa()), 401, "authorization", "missing"),
        ("replayed token", "after logout", call("GET", fa(), headers=tok(lambda w: w.vars["logged_out"])),
         401, "authorization", "revoked"),
        ("replayed token", "rotated refresh token",
         dyn("POST", lambda w: "/auth/refresh", lambda w: {"refresh_token": w.vars["rotated"]}),
         401, "refresh_token", "already used"),
        ("replayed token", "refresh of a removed member",
         dyn("POST", lambda w: "/auth/refresh", lambda w: {"refresh_token": w.vars["removed_refresh"]}),
         401, "refresh_token", "revoked"),
        ("replayed token", "refresh garbage", call("POST", lambda w: "/auth/refresh",
                                                   body={"refresh_token": "abc.def"}),
         401, "refresh_token", "not a refresh token"),
        ("replayed token", "revoked invite",
         dyn("POST", lambda w: "/auth/join", lambda w: {"code": w.vars["revoked_code"]}, alda), 401, "code", "revoked"),
        ("replayed token", "used-up invite",
         dyn("POST", lambda w: "/auth/join", lambda w: {"code": w.vars["used_code"]}), 409, "code", "used up"),
    ]
    return cases


async def prepare(w: World) -> None:
    c = w.api.client
    r = await c.post(f"/frames/{w.a.frame_id}/liquid", headers=bearer(w.u("Brix")),
                     json={"character_id": str(w.a.ids["Brix"]), "content": "I hide the codes", "pscale": -1})
    assert r.status_code == 201, r.text
    w.vars["brix_draft"] = r.json()["id"]
    for key, cast in (("a", w.a), ("b", w.b)):
        affs = (await c.get(f"/frames/{cast.frame_id}/affiliations", headers=bearer(cast.gm))).json()
        w.vars[f"cell_{key}"] = affs[0]["id"]
    open_b = (await c.post(f"/frames/{w.b.frame_id}/invites", json={}, headers=bearer(w.b.gm))).json()
    w.vars["invite_b"] = open_b["id"]
    joined_b = (await c.post("/auth/join", json={"code": open_b["code"]})).json()
    req = await c.post(f"/frames/{w.b.frame_id}/character-requests", json={"name": "Spy"},
                       headers={"Authorization": f"Bearer {joined_b['access_token']}"})
    assert req.status_code == 201, req.text
    w.vars["request_b"] = req.json()["id"]
    # a session logged out, a refresh token rotated, a removed member's refresh, a revoked invite
    inv = (await c.post(f"/frames/{w.a.frame_id}/invites", json={}, headers=bearer(w.a.gm))).json()
    s1 = (await c.post("/auth/join", json={"code": inv["code"]})).json()
    assert (await c.post("/auth/logout", headers={"Authorization": f"Bearer {s1['access_token']}"})).status_code == 204
    w.vars["logged_out"] = s1["access_token"]
    s2 = (await c.post("/auth/join", json={"code": inv["code"]})).json()
    assert (await c.post("/auth/refresh", json={"refresh_token": s2["refresh_token"]})).status_code == 200
    w.vars["rotated"] = s2["refresh_token"]
    s3 = (await c.post("/auth/join", json={"code": inv["code"]})).json()
    r = await c.delete(f"/frames/{w.a.frame_id}/members/{s3['user_id']}", headers=bearer(w.a.gm))
    assert r.status_code == 204
    w.vars["removed_refresh"] = s3["refresh_token"]
    gone = (await c.post(f"/frames/{w.a.frame_id}/invites", json={}, headers=bearer(w.a.gm))).json()
    await c.delete(f"/frames/{w.a.frame_id}/invites/{gone['id']}", headers=bearer(w.a.gm))
    w.vars["revoked_code"] = gone["code"]
    once = (await c.post(f"/frames/{w.a.frame_id}/invites", json={"max_uses": 1}, headers=bearer(w.a.gm))).json()
    assert (await c.post("/auth/join", json={"code": once["code"]})).status_code == 200
    w.vars["used_code"] = once["code"]


async def test_the_hand_table(db_url: str) -> None:
    tally = Tally("http-hand")
    async with running_api(db_url, clock=FakeClock(datetime.now(UTC)), MEDIUM_RATE_BURST=1000) as api:
        w = World(api, await cast_of(api.st), await cast_of(api.st))
        await prepare(w)
        for kind, case_id, run, status, fld, says in table():
            before = await counts(api)
            r = await run(w)
            assert r.status_code == status, (kind, case_id, r.status_code, r.text[:300])
            error = clear_http_error(r)
            assert error["field"] == fld, (kind, case_id, error)
            assert says.lower() in error["message"].lower(), (kind, case_id, error)
            after = await counts(api)
            if case_id in REVOKES:
                assert after["events"] == before["events"] + 1, case_id
                after = {**after, "events": before["events"], "frames.event_seq": before["frames.event_seq"]}
            assert after == before, (kind, case_id)
            assert "sk-secret" not in r.text
            tally.refused(kind)
        assert (await api.client.get("/health")).json() == {"status": "ok", "database": "ok"}
    doc = tally.save()
    assert doc["refused"] >= 90, doc


async def test_algorithm_confusion_with_jwks(db_url: str) -> None:
    """With Supabase Auth's JWKS configured, tokens signed with the published public key as an
    HMAC secret, with ``alg: none``, or with an RS256 key that is not in the set are refused."""
    server = JwksServer()
    tally = Tally("http-jwks")
    try:
        async with running_api(db_url, MEDIUM_JWKS_URL=server.url, MEDIUM_JWT_ISSUER=ISSUER) as api:
            cast = await cast_of(api.st)
            user = cast.users["Alda"]
            assert user
            pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
            der = RSA_KEY.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
            forged = {
                "HS256 signed with the JWKS public key (PEM)": hs256_with(pem, {**claims_of(user), "iss": ISSUER}),
                "HS256 signed with the JWKS public key (DER)": hs256_with(der, {**claims_of(user), "iss": ISSUER}),
                "HS256 with the server's own secret": token(user),
                "alg none": alg_none(user),
                "RS256 with a key not in the set": signed(
                    user, key=rsa.generate_private_key(public_exponent=65537, key_size=2048), alg="RS256",
                    kid="rsa-1"),
            }
            before = await counts(api)
            for label, t in forged.items():
                r = await api.client.get(f"/frames/{cast.frame_id}", headers={"Authorization": f"Bearer {t}"})
                assert r.status_code == 401, (label, r.text)
                error = clear_http_error(r)
                assert error["field"] == "authorization", (label, error)
                tally.refused("algorithm confusion")
                joined = await api.client.post("/auth/join", json={"code": "abcdef"},
                                               headers={"Authorization": f"Bearer {t}"})
                assert joined.status_code == 401, (label, joined.text)
                tally.refused("algorithm confusion (join)")
            assert await counts(api) == before
            assert (await api.client.get("/health")).status_code == 200
    finally:
        server.close()
    tally.save()
