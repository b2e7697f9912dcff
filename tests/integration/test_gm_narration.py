"""GM narration through the API (issue 15, item 2): a ``source: gm`` outcome every Medium
incorporates, perceive windows for the involved, GM-only, bad input writes nothing, and
exactly one solid per window it opens."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.integration.api_support import cast_of, new_user, row_counts
from tests.integration.gm_support import clocked_api, event_seq, events, per_window, work
from tests.integration.helpers import commit

SIREN = "A siren wails over the rooftops"


async def test_gm_narration_is_an_outcome_every_medium_incorporates(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        a = await commit(st, cast, "Alda", "I pick the lock", -1, clock.now())
        ids = cast.ids
        body = {"text": SIREN, "characters_involved": [str(ids["Alda"]), str(ids["Brix"]), str(ids["Zed"])],
                "world_facts": ["The alarm is ringing"]}

        before = await row_counts(st)
        for user, code in ((alda, 403), (new_user(), 404)):
            r = await api.post(f"/frames/{fid}/narrate", user, body)
            assert (r.status_code, r.json()["error"]["field"]) == (code, "frame_id")
        for bad, field in (({"text": ""}, "body.text"), ({"text": "   "}, "body.text"), ({}, "body.text"),
                           ({"text": "x", "characters_involved": ["nope"]}, "body.characters_involved.0"),
                           ({"text": "x", "characters_involved": [str(uuid.uuid4())]}, "characters_involved"),
                           ({"text": "x", "world_facts": "one"}, "body.world_facts"),
                           ({"text": "x", "source": "gm"}, "body.source"),
                           ({"text": "x" * 4001}, "body.text")):
            r = await api.post(f"/frames/{fid}/narrate", gm, bad)
            assert (r.status_code, r.json()["error"]["field"]) == (422, field), bad
        assert await row_counts(st) == before

        seq = await event_seq(st, fid)
        r = await api.post(f"/frames/{fid}/narrate", gm, body)
        assert r.status_code == 201, r.text
        out = r.json()
        assert (out["source"], out["narration"], out["source_character_id"]) == ("gm", SIREN, None)
        assert out["actions_resolved"] == []
        assert out["world_facts"] == ["The alarm is ringing"]
        assert out["characters_involved"] == body["characters_involved"]
        gm_outcome = uuid.UUID(out["id"])
        opened = {w.character_id: w for w in await st.open_windows(fid)}
        # Alda narrates it when her own window closes; Brix and Zed get a perceive window.
        assert opened[ids["Alda"]].id == a.liquid.window_id
        assert opened[ids["Brix"]].trigger_mode == opened[ids["Zed"]].trigger_mode == "perceive"
        assert opened[ids["Brix"]].due_at == clock.now() + timedelta(seconds=3)
        assert await events(st, fid, seq) == [("outcome", gm_outcome, None),
                                              ("timer", opened[ids["Brix"]].id, [brix]),
                                              ("timer", opened[ids["Zed"]].id, [])]
        as_brix = (await api.get(f"/frames/{fid}/outcomes", brix)).json()
        assert [(o["source"], o["narration"]) for o in as_brix] == [("gm", SIREN)]

        directive = (await api.get(f"/frames/{fid}/characters/{ids['Brix']}/directive",
                                   gm)).json()["directive"]
        assert "[gm]" in directive
        assert SIREN in directive

        await work(st, clock.now() + timedelta(hours=1))
        solids = {s.character_id: s for s in await st.solids(fid)}
        for name in ("Alda", "Brix", "Zed"):
            assert gm_outcome in solids[ids[name]].outcome_ids, name
            assert SIREN in solids[ids[name]].directive, name
        ledger = await per_window(st, fid)
        assert ledger[gm_outcome] == (1, 0)  # the GM's outcome, under its own id
        assert ledger[opened[ids["Alda"]].id] == (1, 1)
        assert ledger[opened[ids["Brix"]].id] == (0, 1)
        assert ledger[opened[ids["Zed"]].id] == (0, 1)
        assert len(await st.outcomes(fid)) == 2


async def test_gm_narration_in_a_paused_frame_waits_for_the_resume(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        assert (await api.post(f"/frames/{fid}/pause", gm)).status_code == 200
        r = await api.post(f"/frames/{fid}/narrate", gm,
                           {"text": SIREN, "characters_involved": [str(cast.ids["Brix"])]})
        assert r.status_code == 201, r.text
        [w] = await st.open_windows(fid)
        assert w.paused_remaining == 3.0
        clock.advance(100)
        assert await work(st, clock.now()) == []
        assert (await api.post(f"/frames/{fid}/resume", gm)).status_code == 200
        assert (await st.get_window(fid, w.id)).due_at == clock.now() + timedelta(seconds=3)  # type: ignore[union-attr]
        assert [x.id for x in await work(st, clock.now() + timedelta(seconds=3))] == [w.id]
