"""Hold for review through the API (issue 15, item 3): with ``review: true`` an outcome and its
narrative wait for the GM, unseen by players and by every other Medium, and what they cause
waits too; approve, edit and reject; GM-only; exactly one outcome and one narrative per window."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from synthesis import medium, route
from synthesis.types import ActionOutcome, Interrupt, MediumOutput, ResolvedAction
from tests.integration.api_support import bearer, cast_of, new_user, row_counts
from tests.integration.gm_support import ClockedApi, clocked_api, event_seq, events, per_window, work
from tests.integration.helpers import Cast, commit, scripted_registry

SHOUT = "shouts a warning across the bar"


async def review_on(api: ClockedApi, cast: Cast) -> None:
    r = await api.client.patch(f"/frames/{cast.frame_id}", json={"review": True},
                               headers=_auth(cast.gm))
    assert r.status_code == 200, r.text
    assert r.json()["review"] is True


def _auth(user: uuid.UUID) -> dict[str, str]:
    return bearer(user)


async def alda_interrupts_brix(api: ClockedApi, cast: Cast) -> dict[str, Any]:
    """Alda's window resolves with an outcome that interrupts Brix and involves Zed."""
    st, clock = api.st, api.clock
    a = await commit(st, cast, "Alda", "I shout", -2, clock.now())
    await commit(st, cast, "Brix", "I polish a glass", -1, clock.now())
    clock.advance(5)
    [claimed] = await st.claim_due_windows(clock.now(), limit=5, worker_id="w", lease_seconds=30)
    assert claimed.id == a.liquid.window_id
    me, brix, zed = cast.ids["Alda"], cast.ids["Brix"], cast.ids["Zed"]
    out = MediumOutput(narrative="You shout.", outcome=ActionOutcome(
        actions_resolved=[ResolvedAction(character_id=me, action=SHOUT, result="success")],
        world_facts=["The bar falls silent"], characters_involved=[me, brix, zed],
        interrupts=[Interrupt(target_character_id=brix, reason="Alda shouts at Brix")]))
    plan = await st.route(cast.frame_id, claimed.id, [me, brix, zed], lambda snap: route.plan(
        snap, route.MediumResult(output=out, narrator="test"), clock.now()))
    return plan.summary()


async def test_a_held_outcome_is_the_gms_alone_until_approved(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st, perceive=True)
        fid, gm = cast.frame_id, cast.gm
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        await review_on(api, cast)
        seq = await event_seq(st, fid)
        summary = await alda_interrupts_brix(api, cast)
        oid, sid = uuid.UUID(summary["outcome_id"]), uuid.UUID(summary["solid_id"])
        assert summary["interrupted"] == []  # what it causes waits for the GM
        assert summary["perceive"] == []
        held = [e for e in await events(st, fid, seq) if e[0] in ("outcome", "narrative")]
        assert held == [("outcome", oid, []), ("narrative", sid, [])]  # the GM's only

        assert (await api.get(f"/frames/{fid}/outcomes", brix)).json() == []
        assert (await api.get(f"/frames/{fid}/solid", alda)).json() == []
        [o] = (await api.get(f"/frames/{fid}/outcomes", gm)).json()
        assert (o["id"], o["held"]) == (str(oid), True)
        assert [(n["id"], n["held"]) for n in (await api.get(f"/frames/{fid}/solid", gm)).json()] == [(str(sid), True)]
        brix_window = next(w for w in await st.open_windows(fid) if w.character_id == cast.ids["Brix"])
        assert brix_window.status == "open"  # not interrupted yet
        directive = (await api.get(f"/frames/{fid}/characters/{cast.ids['Brix']}/directive", gm)).json()["directive"]
        assert SHOUT not in directive  # no other Medium gathers a held outcome

        before = await row_counts(st)
        for user, code, field in ((alda, 403, "frame_id"), (new_user(), 404, "outcome_id")):
            r = await api.post(f"/outcomes/{oid}/approve", user)
            assert (r.status_code, r.json()["error"]["field"]) == (code, field)
        r = await api.post(f"/outcomes/{uuid.uuid4()}/approve", gm)
        assert (r.status_code, r.json()["error"]["field"]) == (404, "outcome_id")
        assert await row_counts(st) == before

        seq = await event_seq(st, fid)
        r = await api.post(f"/outcomes/{oid}/approve", gm)
        assert r.status_code == 200, r.text
        assert r.json()["held"] is False
        assert r.json()["seq"] == seq + 1  # committed for everyone now, at the release's cursor
        kinds = await events(st, fid, seq)
        assert kinds[:2] == [("outcome", oid, None), ("narrative", sid, [alda])]
        assert sorted((t, a) for t, _, a in kinds[2:]) == sorted(
            [("timer", [brix]), ("timer", [brix]), ("timer", [])])  # Brix cut short, woken; Zed perceives
        assert [x["id"] for x in (await api.get(f"/frames/{fid}/outcomes", brix)).json()] == [str(oid)]
        assert [x["id"] for x in (await api.get(f"/frames/{fid}/solid", alda)).json()] == [str(sid)]
        r = await api.post(f"/outcomes/{oid}/approve", gm)
        assert (r.status_code, r.json()["error"]["field"]) == (409, "outcome_id")

        await api.client.patch(f"/frames/{fid}", json={"review": False}, headers=_auth(gm))
        await work(st, clock.now() + timedelta(hours=1))
        solids = {s.character_id: s for s in await st.solids(fid)}
        assert oid in solids[cast.ids["Brix"]].outcome_ids
        assert solids[cast.ids["Brix"]].trigger_mode == "interrupt"
        assert oid in solids[cast.ids["Zed"]].outcome_ids
        ledger = await per_window(st, fid)
        assert all(v in ((1, 1), (0, 1)) for v in ledger.values()), ledger
        assert sum(n for n, _ in ledger.values()) == len(await st.outcomes(fid))


async def test_edit_and_reject(db_url: str) -> None:
    async with clocked_api(db_url) as api:
        st, clock = api.st, api.clock
        cast = await cast_of(st)
        fid, gm = cast.frame_id, cast.gm
        alda = cast.users["Alda"]
        assert alda
        await review_on(api, cast)
        a = await commit(st, cast, "Alda", "I toss a coin", -2, clock.now())
        wid = a.liquid.window_id
        await work(st, clock.now() + timedelta(seconds=5))
        [o] = await st.outcomes(fid)
        assert o.held

        seq = await event_seq(st, fid)
        r = await api.post(f"/outcomes/{o.id}/reject", alda)
        assert r.status_code == 403
        r = await api.post(f"/outcomes/{o.id}/reject", gm)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["last_error"]) == ("failed", "rejected by the GM")
        assert await st.outcomes(fid) == []
        assert await st.solids(fid) == []
        assert (await st.find_liquid(a.liquid.id)).status == "committed"  # type: ignore[union-attr]
        assert await events(st, fid, seq) == [("timer", wid, [alda]), ("liquid", a.liquid.id, [alda])]

        r = await api.post(f"/frames/{fid}/windows/{wid}/retry", gm)
        assert r.status_code == 200, r.text
        await work(st, clock.now() + timedelta(seconds=6))
        [o] = await st.outcomes(fid)
        assert o.held
        me = str(cast.ids["Alda"])
        before = await row_counts(st)
        for bad, field in (({"actions_resolved": [{"character_id": str(cast.ids["Brix"]), "action": "x",
                                                   "result": "success"}]}, "actions_resolved"),
                           ({"actions_resolved": [{"character_id": me, "action": "x", "result": "great"}]},
                            "body.actions_resolved.0.result"),
                           ({"world_facts": "x"}, "body.world_facts"), ({"held": False}, "body.held")):
            r = await api.post(f"/outcomes/{o.id}/edit", gm, bad)
            assert (r.status_code, r.json()["error"]["field"]) == (422, field), bad
        assert await row_counts(st) == before
        r = await api.post(f"/outcomes/{o.id}/edit", gm, {
            "world_facts": ["The coin lands on its edge"],
            "actions_resolved": [{"character_id": me, "action": "tosses a coin", "result": "partial"}]})
        assert r.status_code == 200, r.text
        assert (r.json()["held"], r.json()["world_facts"]) == (False, ["The coin lands on its edge"])
        assert r.json()["actions_resolved"] == [{"character_id": me, "action": "tosses a coin", "result": "partial"}]
        assert [s.held for s in await st.solids(fid)] == [False]
        reg = scripted_registry()
        try:  # the window is done: a late retry of its synthesis writes nothing
            await medium.synthesize(st, reg, fid, wid, now=clock.now())  # type: ignore[arg-type]
        finally:
            await reg.aclose()
        assert (await per_window(st, fid))[wid] == (1, 1)  # type: ignore[index]
