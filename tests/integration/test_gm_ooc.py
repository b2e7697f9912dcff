"""Out-of-character chat (issue 15, item 6): players and the GM post and read it, members
only; it is live to every member; and no compiled directive ever holds it."""

from __future__ import annotations

from datetime import timedelta

from synthesis import medium
from tests.integration.api_support import cast_of, new_user, row_counts
from tests.integration.gm_support import clocked_api, event_seq, events, work
from tests.integration.helpers import commit, scripted_registry

MARK = "OOC-MARKER-brb-pizza"


async def test_ooc_is_for_members_in_cursor_order_and_never_in_a_prompt(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix

        before = await row_counts(st)
        r = await api.post(f"/frames/{fid}/ooc", new_user(), {"text": "hi"})
        assert (r.status_code, r.json()["error"]["field"]) == (404, "frame_id")
        for bad, field in (({"text": ""}, "body.text"), ({"text": "  "}, "body.text"), ({}, "body.text"),
                           ({"text": "x" * 2001}, "body.text"), ({"text": "x", "role": "gm"}, "body.role")):
            r = await api.post(f"/frames/{fid}/ooc", alda, bad)
            assert (r.status_code, r.json()["error"]["field"]) == (422, field), bad
        assert (await api.get(f"/frames/{fid}/ooc", new_user())).status_code == 404
        assert await row_counts(st) == before

        await commit(st, cast, "Alda", "I order a drink", -1, clock.now())
        await commit(st, cast, "Brix", "I watch the door", -1, clock.now())
        seq = await event_seq(st, fid)
        posted = []
        for user, text in ((alda, f"{MARK} one sec"), (gm, f"{MARK} take five"), (brix, f"{MARK} ok")):
            r = await api.post(f"/frames/{fid}/ooc", user, {"text": text})
            assert r.status_code == 201, r.text
            posted.append(r.json())
        assert [(p["role"], p["user_id"]) for p in posted] == [("player", str(alda)), ("gm", str(gm)),
                                                               ("player", str(brix))]
        assert [(t, str(ref), aud) for t, ref, aud in await events(st, fid, seq)] == [
            ("ooc", p["id"], None) for p in posted]
        assert [p["seq"] for p in posted] == [seq + 1, seq + 2, seq + 3]
        for user in (alda, brix, gm):
            got = (await api.get(f"/frames/{fid}/ooc", user)).json()
            assert [g["text"] for g in got] == [p["text"] for p in posted]
        got = (await api.get(f"/frames/{fid}/ooc?since={posted[0]['seq']}", brix)).json()
        assert [g["id"] for g in got] == [p["id"] for p in posted[1:]]
        r = await api.get(f"/frames/{fid}/ooc?since=-1", brix)
        assert (r.status_code, r.json()["error"]["field"]) == (422, "query.since")

        # Every Medium that runs now, and every directive a Medium would send, is free of it.
        await work(st, clock.now() + timedelta(hours=1))
        solids = await st.solids(fid)
        assert len(solids) == 2
        directives = [s.directive for s in solids]
        reg = scripted_registry()
        try:
            for cid in cast.ids.values():
                directives.append(await medium.preview(st, reg, fid, cid))
        finally:
            await reg.aclose()
        assert all(d for d in directives)
        assert not [d for d in directives if MARK in d or "brb" in d]
        assert all(MARK not in s.narrative for s in solids)
