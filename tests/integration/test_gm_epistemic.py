"""The epistemic view (issue 15, item 7): GM only; what a character knows with each fact's
source, what is withheld and why, its directive; the GM's overrides validated (bad input writes
nothing), logged as GM-only ``frame`` events, applied to the next directive and to a real
synthesis, removable; and no player reads them, by REST or by RLS."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from tests.integration.api_support import bearer, cast_of, new_user, row_counts
from tests.integration.gm_support import ClockedApi, clocked_api, event_seq, events, work
from tests.integration.helpers import commit

ADDED = "EPI-FACT the vault key is under the third floor tile"


async def counts(api: ClockedApi) -> dict[str, int]:
    out = await row_counts(api.st)
    async with api.st.pool.acquire() as conn:
        out["knowledge_overrides"] = await conn.fetchval("SELECT count(*) FROM public.knowledge_overrides")
    return out


async def rls_rows(api: ClockedApi, user: UUID | None, role: str = "authenticated") -> list[Any]:
    """``knowledge_overrides`` as PostgREST would read it for ``user`` (rolled back)."""
    claims = {"sub": str(user), "role": role} if user else {"role": role}
    async with api.st.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", json.dumps(claims))
        await conn.execute(f"SET LOCAL ROLE {role}")
        try:
            return list(await conn.fetch("SELECT * FROM public.knowledge_overrides"))
        except asyncpg.InsufficientPrivilegeError as exc:  # a denied read is an answer too
            return [type(exc).__name__]


async def directive(api: ClockedApi, fid: UUID, cid: UUID, gm: UUID) -> str:
    r = await api.get(f"/frames/{fid}/characters/{cid}/directive", gm)
    assert r.status_code == 200, r.text
    return str(r.json()["directive"])


async def delete(api: ClockedApi, path: str, user: UUID) -> httpx.Response:
    return await api.client.delete(path, headers=bearer(user))


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["field"]


async def test_the_view_is_the_gms_and_explains_known_and_withheld(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        cast = await cast_of(api.st)
        fid, gm, brix, alda = cast.frame_id, cast.gm, cast.ids["Brix"], cast.ids["Alda"]
        path = f"/frames/{fid}/characters/{brix}/epistemic"
        assert error(await api.get(path, new_user())) == (404, "frame_id")
        assert error(await api.get(path, cast.users["Brix"] or new_user())) == (403, "frame_id")
        assert error(await api.get(f"/frames/{fid}/characters/{new_user()}/epistemic", gm)) == (404, "character_id")

        r = await api.get(path, gm)
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["mode"] == "personal"
        known = {(f["fact"], f["layer"], f["about"], f["source"]) for f in view["known"]}
        assert ("BRIX-SECRET", "internal", "Brix", "own") in known
        assert ("Tall.", "external", "Alda", "public") in known
        assert not [f for f in view["known"] if "SECRET" in f["fact"] and f["about"] != "Brix"]
        withheld = {(x["fact"], x["reason"]) for x in view["withheld"]}
        assert {("Alda's membership in Cell", "hidden"), ("ALDA-SECRET", "private"),
                ("ZED-SECRET", "private"), ("CELL-SECRET", "hidden")} <= withheld
        assert "BRIX-SECRET" in view["directive"]
        assert "ALDA-SECRET" not in view["directive"]

        # Alda, a hidden member of Cell, knows its internal, from the affiliation.
        alda_view = (await api.get(f"/frames/{fid}/characters/{alda}/epistemic", gm)).json()
        assert ("CELL-SECRET", "internal", "Cell", "affiliation:Cell") in {
            (f["fact"], f["layer"], f["about"], f["source"]) for f in alda_view["known"]}


async def test_bad_overrides_write_nothing(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        cast = await cast_of(api.st)
        fid, gm, brix = cast.frame_id, cast.gm, cast.ids["Brix"]
        player = cast.users["Brix"]
        assert player
        path = f"/frames/{fid}/characters/{brix}/knowledge"
        before = await counts(api)
        for body, want in (({}, (422, "add")), ({"add": ""}, (422, "add")), ({"add": "   "}, (422, "add")),
                           ({"add": "x", "redact": "y"}, (422, "add")), ({"redact": ""}, (422, "redact")),
                           ({"redact": "ALDA-SECRET"}, (422, "redact")),  # withheld, not known
                           ({"redact": "no such fact"}, (422, "redact")),
                           ({"add": "x" * 2001}, (422, "body.add")), ({"add": "x", "also": 1}, (422, "body.also"))):
            assert error(await api.post(path, gm, body)) == want, body
        assert error(await api.post(f"/frames/{fid}/characters/{new_user()}/knowledge", gm,
                                    {"add": "x"})) == (404, "character_id")
        assert error(await api.post(path, player, {"add": "x"})) == (403, "frame_id")
        assert error(await api.post(path, new_user(), {"add": "x"})) == (404, "frame_id")
        assert error(await delete(api, f"{path}/{new_user()}", gm)) == (404, "override_id")
        assert await counts(api) == before


async def test_overrides_change_the_next_directive_and_removing_them_restores_it(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm, brix, alda = cast.frame_id, cast.gm, cast.ids["Brix"], cast.ids["Alda"]
        player = cast.users["Brix"]
        assert player
        path = f"/frames/{fid}/characters/{brix}/knowledge"
        original = await directive(api, fid, brix, gm)
        assert "appears: Tall." in original
        assert "A droid." in original
        assert ADDED not in original

        seq = await event_seq(st, fid)
        r = await api.post(path, gm, {"add": ADDED})
        assert r.status_code == 201, r.text
        added = r.json()
        assert (added["kind"], added["text"], added["character_id"]) == ("add", ADDED, str(brix))
        r = await api.post(path, gm, {"redact": "Tall."})  # by text: Alda's external
        assert r.status_code == 201, r.text
        by_text = r.json()
        assert by_text["fact_id"] == f"character:{alda}:external"
        view = (await api.get(f"/frames/{fid}/characters/{brix}/epistemic", gm)).json()
        droid = next(f for f in view["known"] if f["fact"] == "A droid.")
        r = await api.post(path, gm, {"redact": droid["id"]})  # by fact id: Zed's universal
        assert r.status_code == 201, r.text
        by_id = r.json()
        # Each change is a frame event, for the GM alone.
        assert [(t, ref, aud) for t, ref, aud in await events(st, fid, seq)] == [("frame", fid, [])] * 3

        view = (await api.get(f"/frames/{fid}/characters/{brix}/epistemic", gm)).json()
        assert {(f["fact"], f["source"]) for f in view["known"]} >= {(ADDED, "gm_override")}
        assert {(x["fact"], x["reason"], x["override_id"]) for x in view["withheld"]} >= {
            ("Tall.", "redacted", by_text["id"]), ("A droid.", "redacted", by_id["id"])}
        assert [o["id"] for o in view["overrides"]] == [added["id"], by_text["id"], by_id["id"]]
        changed = await directive(api, fid, brix, gm)
        assert ADDED in changed
        assert ADDED in view["directive"]
        assert "appears: Tall." not in changed
        assert "A droid." not in changed
        # Another character's knowledge is untouched.
        assert ADDED not in await directive(api, fid, alda, gm)
        # Redacting it again names nothing Brix knows now.
        assert error(await api.post(path, gm, {"redact": "Tall."})) == (422, "redact")
        # A text two known facts share is ambiguous: the id is needed.
        async with st.pool.acquire() as conn:
            await conn.execute("UPDATE public.characters SET external = 'Beeps.' WHERE id = $1", brix)
        assert error(await api.post(path, gm, {"redact": "Beeps."})) == (422, "redact")

        # A real synthesis compiles the same: the override reaches the Medium's prompt.
        await commit(st, cast, "Brix", "I check the floor tiles", -2, clock.now())
        await work(st, clock.now() + timedelta(hours=1))
        solid = next(s for s in await st.solids(fid) if s.character_id == brix)
        assert solid.directive is not None
        assert ADDED in solid.directive
        assert "appears: Tall." not in solid.directive

        # No player reads an override: not by REST, not by RLS; the GM may, by RLS too.
        assert error(await api.get(f"/frames/{fid}/characters/{brix}/epistemic", player)) == (403, "frame_id")
        assert error(await delete(api, f"{path}/{added['id']}", player)) == (403, "frame_id")
        assert await rls_rows(api, player) == []
        assert await rls_rows(api, cast.users["Alda"]) == []
        assert len(await rls_rows(api, gm)) == 3
        assert await rls_rows(api, None, "anon") == ["InsufficientPrivilegeError"]
        mine = (await api.get(f"/frames/{fid}/characters/{brix}/knowledge", player)).json()
        assert "overrides" not in mine
        assert by_text["id"] not in json.dumps(mine)

        # Removing them restores the directive.
        for o in (added, by_text, by_id):
            assert (await delete(api, f"{path}/{o['id']}", gm)).status_code == 204
        restored = await directive(api, fid, brix, gm)
        assert "appears: Tall." in restored
        assert "A droid." in restored
        assert ADDED not in restored
        assert not (await api.get(f"/frames/{fid}/characters/{brix}/epistemic", gm)).json()["overrides"]
        assert error(await delete(api, f"{path}/{added['id']}", gm)) == (404, "override_id")


async def test_a_shared_frame_applies_no_ones_overrides(db_url: str) -> None:
    """A shared narration is for everyone present: one character's added fact never enters it."""
    async with clocked_api(db_url) as api:
        cast = await cast_of(api.st, mode="shared")
        fid, gm, brix = cast.frame_id, cast.gm, cast.ids["Brix"]
        r = await api.post(f"/frames/{fid}/characters/{brix}/knowledge", gm, {"add": ADDED})
        assert r.status_code == 201, r.text
        view = (await api.get(f"/frames/{fid}/characters/{brix}/epistemic", gm)).json()
        assert view["mode"] == "shared"
        assert ADDED not in view["directive"]
        assert "BRIX-SECRET" not in view["directive"]
        assert ADDED not in await directive(api, fid, brix, gm)
