"""GM pacing through the API (issue 15, item 1): pause and resume, resolve, extend, ready.
Real Postgres, an injected FakeClock: GM-only checks, the rows written, the events and their
audiences, and exactly one outcome and one solid per window through each."""

from __future__ import annotations

import uuid
from datetime import timedelta

from synthesis import medium, route
from synthesis.types import ActionOutcome, MediumOutput, ResolvedAction
from tests.integration.api_support import cast_of, new_user, row_counts
from tests.integration.gm_support import clocked_api, event_seq, events, per_window, work
from tests.integration.helpers import commit, scripted_registry


async def test_pause_freezes_every_window_and_resume_gives_back_exactly_what_was_left(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        r = await api.post(f"/frames/{fid}/liquid", alda, {"character_id": str(cast.ids["Alda"]),
                                                          "content": "I draw", "commit": True, "pscale": -2})
        assert r.status_code == 201, r.text
        clock.advance(2)
        r = await api.post(f"/frames/{fid}/liquid", brix, {"character_id": str(cast.ids["Brix"]),
                                                          "content": "I watch", "commit": True, "pscale": -1})
        assert r.status_code == 201, r.text
        clock.advance(1.5)

        before = await row_counts(st)
        for user, code in ((alda, 403), (new_user(), 404)):
            r = await api.post(f"/frames/{fid}/pause", user)
            assert r.status_code == code, r.text
            assert r.json()["error"]["field"] == "frame_id"
        assert await row_counts(st) == before

        seq = await event_seq(st, fid)
        r = await api.post(f"/frames/{fid}/pause", gm)
        assert r.status_code == 200, r.text
        assert r.json()["paused"] is True
        paused_at = clock.now()
        frame = await st.get_frame(fid)
        assert frame is not None
        assert frame.paused_at == paused_at
        windows = {w.character_id: w for w in await st.open_windows(fid)}
        wa, wb = windows[cast.ids["Alda"]], windows[cast.ids["Brix"]]
        assert (wa.paused_remaining, wb.paused_remaining) == (1.5, 13.5)
        assert await events(st, fid, seq) == [("frame", fid, None), ("timer", wa.id, [alda]),
                                              ("timer", wb.id, [brix])]
        r = await api.post(f"/frames/{fid}/pause", gm)
        assert (r.status_code, r.json()["error"]["field"]) == (409, "paused")

        clock.advance(600)  # ten minutes of pause: the timers hold, nothing is claimed
        timers = {t["character_id"]: t for t in (await api.get(f"/frames/{fid}/timers", gm)).json()}
        assert timers[str(cast.ids["Alda"])]["remaining_seconds"] == 1.5
        assert timers[str(cast.ids["Alda"])]["paused"] is True
        assert timers[str(cast.ids["Brix"])]["remaining_seconds"] == 13.5
        assert await work(st, clock.now() + timedelta(hours=1)) == []

        # Submissions while paused are accepted and queue: a commit joins or opens a window.
        r = await api.post(f"/frames/{fid}/liquid", brix, {"character_id": str(cast.ids["Brix"]),
                                                          "content": "I wait", "commit": True, "pscale": -1})
        assert r.status_code == 201, r.text
        assert r.json()["window_id"] == str(wb.id)
        zed = await commit(st, cast, "Zed", "I beep", -2, clock.now())
        queued = await st.get_window(fid, zed.liquid.window_id)  # type: ignore[arg-type]
        assert queued is not None
        assert queued.paused_remaining == 5.0  # frozen with its whole timer
        timers = {t["character_id"]: t for t in (await api.get(f"/frames/{fid}/timers", gm)).json()}
        assert (timers[str(cast.ids["Zed"])]["paused"], timers[str(cast.ids["Zed"])]["remaining_seconds"]) == (True, 5)
        clock.advance(30)
        assert await work(st, clock.now() + timedelta(hours=1)) == []

        seq = await event_seq(st, fid)
        r = await api.post(f"/frames/{fid}/resume", alda)
        assert r.status_code == 403
        r = await api.post(f"/frames/{fid}/resume", gm)
        assert r.status_code == 200, r.text
        assert r.json()["paused"] is False
        resumed = clock.now()
        windows = {w.character_id: w for w in await st.open_windows(fid)}
        assert windows[cast.ids["Alda"]].due_at == resumed + timedelta(seconds=1.5)
        assert windows[cast.ids["Brix"]].due_at == resumed + timedelta(seconds=13.5)
        assert windows[cast.ids["Zed"]].due_at == resumed + timedelta(seconds=5)  # its whole timer
        assert zed.liquid.window_id == windows[cast.ids["Zed"]].id
        assert all(w.paused_remaining is None for w in windows.values())
        kinds = await events(st, fid, seq)
        assert kinds[0] == ("frame", fid, None)
        assert sorted((t, a) for t, _, a in kinds[1:]) == sorted(
            [("timer", [alda]), ("timer", [brix]), ("timer", [])])
        r = await api.post(f"/frames/{fid}/resume", gm)
        assert (r.status_code, r.json()["error"]["field"]) == (409, "paused")

        assert await work(st, resumed + timedelta(seconds=1.4)) == []
        claimed = await work(st, resumed + timedelta(seconds=1.5))
        assert [w.id for w in claimed] == [wa.id]
        reg = scripted_registry()
        try:  # a retried synthesis of the same window writes nothing more
            await medium.synthesize(st, reg, fid, wa.id, now=resumed + timedelta(seconds=2))
        finally:
            await reg.aclose()
        await work(st, resumed + timedelta(hours=1))
        ledger = await per_window(st, fid)
        assert ledger[wa.id] == (1, 1)
        assert ledger[wb.id] == (1, 1)
        assert ledger[windows[cast.ids["Zed"]].id] == (1, 1)


async def test_resolve_extend_and_ready(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        now = clock.now()
        a = await commit(st, cast, "Alda", "I search", -1, now)
        b = await commit(st, cast, "Brix", "I guard", -1, now)
        wa, wb = a.liquid.window_id, b.liquid.window_id
        assert wa
        assert wb
        clock.advance(4)

        before = await row_counts(st)
        for path, body in ((f"/windows/{wa}/resolve", None), (f"/windows/{wa}/extend", {"seconds": 5})):
            r = await api.post(path, alda, body)
            assert (r.status_code, r.json()["error"]["field"]) == (403, "frame_id"), path
            r = await api.post(path, new_user(), body)
            assert (r.status_code, r.json()["error"]["field"]) == (404, "window_id"), path
            r = await api.post(path.replace(str(wa), str(uuid.uuid4())), gm, body)
            assert (r.status_code, r.json()["error"]["field"]) == (404, "window_id"), path
        for bad in ({"seconds": 0}, {"seconds": -3}, {"seconds": "soon"}, {}, {"seconds": 5, "x": 1},
                    {"seconds": 10**9}):
            r = await api.post(f"/windows/{wb}/extend", gm, bad)
            assert r.status_code == 422, bad
            assert r.json()["error"]["field"].startswith("body"), bad
        assert await row_counts(st) == before

        seq = await event_seq(st, fid)
        r = await api.post(f"/windows/{wa}/resolve", gm)
        assert r.status_code == 200, r.text
        assert r.json()["remaining_seconds"] == 0
        assert (await st.get_window(fid, wa)).due_at == clock.now()  # type: ignore[union-attr]
        r = await api.post(f"/windows/{wb}/extend", gm, {"seconds": 30})
        assert r.status_code == 200, r.text
        assert r.json()["remaining_seconds"] == 41
        assert await events(st, fid, seq) == [("timer", wa, [alda]), ("timer", wb, [brix])]

        claimed = await work(st, clock.now())
        assert [w.id for w in claimed] == [wa]
        r = await api.post(f"/windows/{wa}/resolve", gm)
        assert (r.status_code, r.json()["error"]["field"]) == (409, "window_id")

        # ready: a player closes its own window now; nobody else's.
        r = await api.post(f"/frames/{fid}/ready", alda)
        assert (r.status_code, r.json()["error"]["field"]) == (409, "character_id")  # none open
        r = await api.post(f"/frames/{fid}/ready", alda, {"character_id": str(cast.ids["Brix"])})
        assert (r.status_code, r.json()["error"]["field"]) == (403, "character_id")
        r = await api.post(f"/frames/{fid}/ready", new_user())
        assert (r.status_code, r.json()["error"]["field"]) == (404, "frame_id")
        seq = await event_seq(st, fid)
        r = await api.post(f"/frames/{fid}/ready", brix)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == str(wb)
        assert await events(st, fid, seq) == [("timer", wb, [brix])]
        claimed = await work(st, clock.now())
        assert [w.id for w in claimed] == [wb]
        await work(st, clock.now() + timedelta(hours=1))
        ledger = await per_window(st, fid)
        assert (ledger[wa], ledger[wb]) == ((1, 1), (1, 1))


async def test_a_synthesis_in_flight_at_the_pause_finishes_and_what_it_opens_waits(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st, perceive=True)
        fid, gm = cast.frame_id, cast.gm
        a = await commit(st, cast, "Alda", "I shout", -2, clock.now())
        clock.advance(5)
        [claimed] = await st.claim_due_windows(clock.now(), limit=5, worker_id="w", lease_seconds=30)
        assert claimed.id == a.liquid.window_id
        assert (await api.post(f"/frames/{fid}/pause", gm)).status_code == 200
        me, brix = cast.ids["Alda"], cast.ids["Brix"]
        out = MediumOutput(narrative="You shout.", outcome=ActionOutcome(
            actions_resolved=[ResolvedAction(character_id=me, action="shouts", result="success")],
            characters_involved=[me, brix]))
        plan = await st.route(fid, claimed.id, [me, brix], lambda snap: route.plan(
            snap, route.MediumResult(output=out, narrator="test"), clock.now()))
        [perceive] = plan.perceive
        w = await st.get_window(fid, perceive["window_id"])
        assert w is not None
        assert (w.trigger_mode, w.paused_remaining) == ("perceive", 3.0)
        clock.advance(60)
        assert await work(st, clock.now()) == []
        assert (await api.post(f"/frames/{fid}/resume", gm)).status_code == 200
        assert (await st.get_window(fid, w.id)).due_at == clock.now() + timedelta(seconds=3)  # type: ignore[union-attr]
        assert [x.id for x in await work(st, clock.now() + timedelta(seconds=3))] == [w.id]
        ledger = await per_window(st, fid)
        assert (ledger[claimed.id], ledger[w.id]) == ((1, 1), (0, 1))
