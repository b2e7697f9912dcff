"""DESIGN §2's reference timeline, against a real Postgres with an injected clock."""

from __future__ import annotations

from datetime import timedelta

from synthesis import medium, store
from synthesis.clock import FakeClock
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players


async def due_now(st: store.Store, now) -> list:  # type: ignore[no-untyped-def]
    return await st.claim_due_windows(now, limit=10, worker_id="test", lease_seconds=30)


async def test_reference_timeline(st: store.Store) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    cast = await make_frame(st, three_players())
    t0 = clock.now()

    a = await commit(st, cast, "Alda", "I attack", -2, t0)
    clock.advance(2)
    b = await commit(st, cast, "Brix", "I defend", -2, clock.now())
    clock.advance(1)
    c = await commit(st, cast, "Cato", "I search the room", -1, clock.now())
    assert a.liquid.timer_expires_at == t0 + timedelta(seconds=5)
    assert b.liquid.timer_expires_at == t0 + timedelta(seconds=7)
    assert c.liquid.timer_expires_at == t0 + timedelta(seconds=18)

    wakes = []
    results = {}
    for t in (4.9, 5, 7, 17.9, 18):
        clock.set(t0 + timedelta(seconds=t))
        for w in await due_now(st, clock.now()):
            res = await medium.synthesize(st, reg, cast.frame_id, w.id, now=clock.now())
            name = next(n for n, i in cast.ids.items() if i == w.character_id)
            wakes.append((t, name, w.trigger_mode))
            results[name] = res
    assert wakes == [(5, "Alda", "expiry"), (7, "Brix", "expiry"), (18, "Cato", "expiry")]

    ia, ib, ic = (results[n].input for n in ("Alda", "Brix", "Cato"))
    assert ia
    assert ib
    assert ic
    # A sees her attack, and B's and C's actions as pending intent.
    assert [x.text for x in ia.my_action] == ["I attack"]
    assert [x.text for x in ia.same_pscale_actions] == ["I defend"]
    assert [x.text for x in ia.pending_higher_pscale] == ["I search the room"]
    assert ia.resolved_outcomes == []
    # B sees O_A resolved and C's intent.
    oa, ob = results["Alda"].outcome_id, results["Brix"].outcome_id
    assert [o.outcome_id for o in ib.resolved_outcomes] == [oa]
    assert [x.text for x in ib.pending_higher_pscale] == ["I search the room"]
    assert ib.same_pscale_actions == []
    # C sees O_A and O_B.
    assert [o.outcome_id for o in ic.resolved_outcomes] == [oa, ob]

    solids = {s.character_id: s for s in await st.solids(cast.frame_id)}
    sa, sb, sc = (solids[cast.ids[n]] for n in ("Alda", "Brix", "Cato"))
    assert sa.outcome_ids == [oa]
    assert sb.outcome_ids == [oa, ob]
    assert sc.outcome_ids == [oa, ob, results["Cato"].outcome_id]
    # Every outcome is shared (one row each, visible to all), and the three narratives differ.
    outcomes = await st.outcomes(cast.frame_id)
    assert [o.id for o in outcomes] == [oa, ob, results["Cato"].outcome_id]
    assert len({sa.narrative, sb.narrative, sc.narrative}) == 3
    # C's narrative mentions the fight that happened during the search.
    assert "Alda" in sc.narrative
    assert "Brix" in sc.narrative
    assert all(s.narrator.startswith("scripted") for s in (sa, sb, sc))
    assert "ALDA-SECRET" in sa.directive
    assert "ALDA-SECRET" not in sb.directive + sc.directive
    # The frame clock advanced with the resolved outcomes: A at 0 + 10 s, C at 0 + 60 s.
    frame = await st.get_frame(cast.frame_id)
    assert frame
    assert frame.clock_seconds == 60
