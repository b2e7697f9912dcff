"""Bad input, table-driven: every case gets the right status, an error naming the field, and
writes nothing (every play table's row count, the frames' cursors and liquid states unchanged)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.api_support import SECRET, Api, bearer, cast_of, liquid_states, row_counts, running_api, token
from tests.integration.helpers import Cast


@dataclass
class Ctx:
    api: Api
    cast: Cast
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def c(self) -> httpx.AsyncClient:
        return self.api.client

    def user(self, name: str) -> uuid.UUID:
        u = self.cast.users[name]
        assert u is not None
        return u

    def liquid(self, name: str = "Alda", content: str = "I watch the door", **kw: Any) -> dict[str, Any]:
        return {"character_id": str(self.cast.ids[name]), "content": content, **kw}

    async def submit(self, *, commit: bool = False, name: str = "Alda") -> str:
        r = await self.c.post(f"/frames/{self.cast.frame_id}/liquid", headers=bearer(self.user(name)),
                              json=self.liquid(name, commit=commit, pscale=-1))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


Step = Callable[[Ctx], Awaitable[Any]]


@dataclass
class Case:
    id: str
    status: int
    field: str
    says: str  # the message names the problem
    run: Callable[[Ctx], Awaitable[httpx.Response]]
    prepare: Step | None = None
    settings: dict[str, Any] = field(default_factory=dict)


Run = Callable[[Ctx], Awaitable[httpx.Response]]


def post_liquid(body: Any, *, as_: str = "Alda", raw: bytes | None = None,
                headers: dict[str, str] | None = None, frame: str | None = None) -> Run:
    async def run(x: Ctx) -> httpx.Response:
        path = f"/frames/{frame or x.cast.frame_id}/liquid"
        h = headers if headers is not None else bearer(x.user(as_))
        if raw is not None:
            return await x.c.post(path, content=raw, headers={**h, "content-type": "application/json"})
        return await x.c.post(path, json=body(x) if callable(body) else body, headers=h)
    return run


def with_token(tok: Callable[[Ctx], str]) -> Callable[[Ctx], Awaitable[httpx.Response]]:
    async def run(x: Ctx) -> httpx.Response:
        return await x.c.post(f"/frames/{x.cast.frame_id}/liquid", json=x.liquid(),
                              headers={"Authorization": f"Bearer {tok(x)}"})
    return run


async def commit_prepared(x: Ctx) -> None:
    x.vars["liquid"] = await x.submit(commit=True)


async def keyed_draft(x: Ctx) -> None:
    r = await x.c.post(f"/frames/{x.cast.frame_id}/liquid", headers=bearer(x.user("Alda")),
                       json=x.liquid(pscale=-1, client_key="turn-1"))
    assert r.status_code == 201, r.text


async def burst(x: Ctx) -> None:
    for _ in range(2):
        await x.submit()


def act(method: str, path: Callable[[Ctx], str], as_: str = "Alda", body: Any = None
        ) -> Callable[[Ctx], Awaitable[httpx.Response]]:
    async def run(x: Ctx) -> httpx.Response:
        return await x.c.request(method, path(x), headers=bearer(x.user(as_)), json=body)
    return run


def gm_patch_frame(body: dict[str, Any]) -> Callable[[Ctx], Awaitable[httpx.Response]]:
    async def run(x: Ctx) -> httpx.Response:
        return await x.c.patch(f"/frames/{x.cast.frame_id}", json=body, headers=bearer(x.cast.gm))
    return run


CASES = [
    Case("empty content", 422, "content", "empty", post_liquid(lambda x: x.liquid(content=""))),
    Case("blank content", 422, "content", "empty", post_liquid(lambda x: x.liquid(content="   \n "))),
    Case("oversized content", 422, "content", "2000", post_liquid(lambda x: x.liquid(content="a" * 2001))),
    Case("content not a string", 422, "body.content", "string", post_liquid(lambda x: x.liquid(content=42))),
    Case("missing character", 422, "body.character_id", "required",
         post_liquid({"content": "I wait"})),
    Case("character id not a uuid", 422, "body.character_id", "uuid",
         post_liquid({"character_id": "kessa", "content": "I wait"})),
    Case("pscale out of range", 422, "body.pscale", "less than or equal to 2",
         post_liquid(lambda x: x.liquid(pscale=3))),
    Case("malformed client_key", 422, "client_key", "client_key",
         post_liquid(lambda x: x.liquid(client_key="has spaces"))),
    Case("client_key reused for another action", 409, "client_key", "different action",
         post_liquid(lambda x: x.liquid(content="I leave", client_key="turn-1", commit=True)),
         prepare=keyed_draft),
    Case("unknown field", 422, "body.mood", "extra", post_liquid(lambda x: x.liquid(mood="grim"))),
    Case("unknown character", 404, "character_id", "character",
         post_liquid(lambda x: x.liquid() | {"character_id": str(uuid.uuid4())})),
    Case("someone else's character", 403, "character_id", "character", post_liquid(lambda x: x.liquid("Brix"))),
    Case("an NPC's character", 403, "character_id", "character", post_liquid(lambda x: x.liquid("Zed"))),
    Case("a frame you are not in", 404, "frame_id", "frame",
         post_liquid(lambda x: x.liquid(), headers={"Authorization": f"Bearer {token(uuid.uuid4())}"})),
    Case("no such frame", 404, "frame_id", "frame", post_liquid(lambda x: x.liquid(), frame=str(uuid.uuid4()))),
    Case("frame id not a uuid", 422, "path.frame_id", "uuid", post_liquid(lambda x: x.liquid(), frame="cantina")),
    Case("malformed JSON", 422, "body", "malformed json", post_liquid(None, raw=b'{"content": "I wait",')),
    Case("frame pscale override out of range", 422, "body.pscale_windows", "pscale -4 is not between -3 and 2",
         gm_patch_frame({"pscale_windows": {"-4": 5}})),
    Case("frame window not positive", 422, "body.pscale_windows", "must be 0 < seconds",
         gm_patch_frame({"pscale_windows": {"-2": 0}})),
    Case("frame pscale override not an integer", 422, "body.pscale_windows", "not an integer",
         gm_patch_frame({"pscale_windows": {"fast": 5}})),
    Case("missing token", 401, "authorization", "missing bearer token", post_liquid(lambda x: x.liquid(), headers={})),
    Case("expired token", 401, "authorization", "expired",
         with_token(lambda x: token(x.user("Alda"), now=time.time() - 7200, ttl=60))),
    Case("forged token", 401, "authorization", "signature",
         with_token(lambda x: jwt.encode({"sub": str(x.user("Alda")), "role": "authenticated",
                                          "exp": int(time.time()) + 600}, "not-the-secret-" * 3,
                                         algorithm="HS256"))),
    Case("garbage token", 401, "authorization", "invalid", with_token(lambda x: "not.a.jwt")),
    Case("token subject not a user id", 401, "authorization", "subject",
         with_token(lambda x: jwt.encode({"sub": "kessa", "exp": int(time.time()) + 600}, SECRET,
                                         algorithm="HS256"))),
    Case("committing twice", 409, "status", "committed",
         act("POST", lambda x: f"/liquid/{x.vars['liquid']}/commit"), prepare=commit_prepared),
    Case("withdrawing after commit", 409, "status", "committed",
         act("DELETE", lambda x: f"/liquid/{x.vars['liquid']}"), prepare=commit_prepared),
    Case("editing after commit", 409, "status", "committed",
         act("PATCH", lambda x: f"/liquid/{x.vars['liquid']}", body={"content": "I leave"}), prepare=commit_prepared),
    Case("committing someone else's liquid", 404, "liquid_id", "liquid",
         act("POST", lambda x: f"/liquid/{x.vars['liquid']}/commit", as_="Brix"), prepare=commit_prepared),
    Case("player acting as GM", 403, "frame_id", "gm", act("PATCH", lambda x: f"/frames/{x.cast.frame_id}",
                                                           as_="Brix", body={"mode": "shared"})),
    Case("rate limit burst", 429, "user_id", "too many", post_liquid(lambda x: x.liquid()), prepare=burst,
         settings={"MEDIUM_RATE_BURST": 2, "MEDIUM_RATE_LIMIT": 0.01}),
    Case("request too large", 413, "body", "larger than",
         post_liquid(None, raw=b'{"content": "' + b"a" * 70_000 + b'"}')),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input(db_url: str, case: Case) -> None:
    async with running_api(db_url, **case.settings) as api:
        x = Ctx(api, await cast_of(api.st))
        if case.prepare:
            await case.prepare(x)
        before, liquid_before = await row_counts(api.st), await liquid_states(api.st)
        r = await case.run(x)
        assert r.status_code == case.status, r.text
        error = r.json()["error"]
        assert set(error) == {"code", "message", "field"}
        assert error["field"] == case.field, error
        assert case.says in error["message"].lower(), error
        assert await row_counts(api.st) == before
        assert await liquid_states(api.st) == liquid_before
        if case.status == 429:
            assert int(r.headers["Retry-After"]) >= 1
        if case.status == 401:
            assert r.headers["WWW-Authenticate"] == "Bearer"
