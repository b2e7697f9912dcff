"""route.plan() and the commit decision: pure rules, checked over random snapshots (DESIGN §5).

No database: the snapshot is built in memory, time comes from a FakeClock, and hypothesis
draws frames (players and NPCs, open windows with committed liquid) and Medium outputs
(resolved actions, involvement, interrupts, including self- and unknown targets).
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import commit, route, timing
from synthesis.clock import FakeClock
from synthesis.errors import Conflict
from synthesis.types import ActionOutcome, Interrupt, MediumOutput, ResolvedAction

CLOCK = FakeClock()


def ids_from(seed: int) -> Any:
    counter = itertools.count()
    return lambda: uuid.UUID(int=(seed << 64) + next(counter) + 1)


@st.composite
def scenes(draw: Any) -> tuple[route.RouteSnapshot, route.MediumResult]:
    n = draw(st.integers(min_value=1, max_value=6))
    chars = [uuid.uuid4() for _ in range(n)]
    users = {c: (uuid.uuid4() if draw(st.booleans()) else None) for c in chars}
    me = chars[0]
    mode = draw(st.sampled_from(["personal", "shared"]))
    pscale = draw(st.integers(min_value=-3, max_value=2))
    status = draw(st.sampled_from(["claimed", "claimed", "claimed", "open", "done", "cancelled"]))
    window = route.WindowRef(id=uuid.uuid4(), character_id=me, status=status,
                             trigger_mode=draw(st.sampled_from(["expiry", "interrupt", "perceive", "commit"])),
                             pscale=pscale, game_clock_at_open=draw(st.integers(0, 10_000)))
    open_windows = {}
    committed: dict[UUID, tuple[UUID, ...]] = {window.id: tuple(uuid.uuid4() for _ in range(draw(st.integers(0, 3))))}
    for c in chars[1:]:
        if draw(st.booleans()):
            ref = route.WindowRef(id=uuid.uuid4(), character_id=c, status="open", trigger_mode="expiry",
                                  pscale=draw(st.integers(-3, 2)), game_clock_at_open=draw(st.integers(0, 10_000)))
            open_windows[c] = ref
            committed[ref.id] = tuple(uuid.uuid4() for _ in range(draw(st.integers(0, 2))))
    snap = route.RouteSnapshot(
        frame_id=uuid.uuid4(), mode=mode, perceive=draw(st.booleans()),
        perceive_seconds=draw(st.sampled_from([0.0, 1.5, 3.0, 20.0])),
        clock_seconds=draw(st.integers(0, 20_000)), window=window, users=users,
        open_windows=open_windows, committed=committed,
        participants=tuple(u for u in users.values() if u is not None) if mode == "shared" else ())
    strangers = [uuid.uuid4() for _ in range(draw(st.integers(0, 2)))]  # not in the frame
    pool = chars + strangers
    outcome = None
    if draw(st.booleans()):
        outcome = ActionOutcome(
            actions_resolved=[ResolvedAction(character_id=me, action="acts", result="success")],
            world_facts=draw(st.lists(st.text(max_size=20), max_size=3)),
            characters_involved=draw(st.lists(st.sampled_from(pool), max_size=5)),
            interrupts=[Interrupt(target_character_id=t, reason=draw(st.text(max_size=10)))
                        for t in draw(st.lists(st.sampled_from(pool), max_size=4))])
    out = MediumOutput(outcome=outcome, narrative="You act.", outcomes_incorporated=[uuid.uuid4()])
    return snap, route.MediumResult(output=out, narrator="scripted", incorporated_through=7)


@settings(max_examples=300, deadline=None)
@given(scenes(), st.floats(min_value=0.01, max_value=2.0))
def test_plan_keeps_the_invariants(scene: tuple[route.RouteSnapshot, route.MediumResult], scale: float) -> None:
    snap, result = scene
    now = CLOCK.now()
    p = route.plan(snap, result, now, time_scale=scale, ids=ids_from(1))
    w = snap.window
    if w.status in ("done", "cancelled"):  # §5.1: idempotent by window
        assert not p.routed
        assert p.to_json()["outcomes"] == []
        assert p.to_json()["solids"] == []
        assert p.events == ()
        return
    out = result.output
    # §5.1: one solid per window, and one outcome exactly when the window resolved an action.
    assert len(p.solids) == 1
    assert (p.outcome is not None) == (out.outcome is not None)
    solid = p.solids[0]
    assert solid.character_id == w.character_id
    assert solid.window_id == w.id
    if p.outcome:
        assert p.outcome.id in solid.outcome_ids
        assert set(p.outcome.characters_involved) <= set(snap.users)
    # §5.4: the narrative reaches its own user only (every participant in shared mode).
    events = {(e.type, e.ref_id): e for e in p.events}
    narrative = events[("narrative", solid.id)]
    if snap.mode == "shared":
        assert set(narrative.audience or ()) == set(snap.participants)
    else:
        assert narrative.audience == snap.audience(w.character_id)
    assert solid.user_id == snap.users[w.character_id]
    # Outcomes and clock changes go to every member; every other event to one character's user.
    for e in p.events:
        if e.type in ("outcome", "frame"):
            assert e.audience is None
        elif e.type != "narrative":
            assert e.audience is not None
            assert len(e.audience) <= 1
    # Seq offsets are the rows' positions in the event list (one emit, one NOTIFY).
    positions = {(e.type, e.ref_id): i + 1 for i, e in enumerate(p.events)}
    assert solid.seq_offset == positions[("narrative", solid.id)]
    if p.outcome:
        assert p.outcome.seq_offset == positions[("outcome", p.outcome.id)]
    # The window's committed liquid resolves; no other window's does.
    assert set(p.resolve_liquid) == set(snap.committed.get(w.id, ()))
    # §5.5: each valid interrupt target gets one interrupt window due now, its open window is
    # cancelled, and its committed liquid moves to the new window.
    targets = set()
    if out.outcome:
        targets = {i.target_character_id for i in out.outcome.interrupts} & set(snap.users) - {w.character_id}
    new_by_char: dict[UUID, list[route.NewWindow]] = {}
    for nw in p.open_windows:
        new_by_char.setdefault(nw.character_id, []).append(nw)
    assert all(len(v) == 1 for v in new_by_char.values()), "at most one new window per character"
    assert {c for c, v in new_by_char.items() if v[0].trigger_mode == "interrupt"} == targets
    for t in targets:
        nw = new_by_char[t][0]
        assert nw.due_at == now
        assert nw.interrupt_source_id == w.character_id
    assert set(p.cancel_windows) == {snap.open_windows[t].id for t in targets if t in snap.open_windows}
    moved = {m.id for m in p.move_liquid}
    assert moved == {lid for t in targets if t in snap.open_windows for lid in snap.committed[snap.open_windows[t].id]}
    # At most one open window per character afterwards: perceive only for idle characters.
    for c, (nw,) in new_by_char.items():
        if nw.trigger_mode == "perceive":
            assert c not in snap.open_windows
            assert c != w.character_id
            assert c not in targets
            assert snap.perceive
            assert snap.mode == "personal"
            assert nw.due_at - now == timedelta(seconds=timing.perceive_seconds(snap.perceive_seconds,
                                                                                time_scale=scale))
    # Game time never goes backwards, and advances past the window's own action.
    clock = p.clock_seconds if p.clock_seconds is not None else snap.clock_seconds
    assert clock >= snap.clock_seconds
    assert clock >= w.game_clock_at_open + timing.PSCALE_GAME_SECONDS[w.pscale]
    assert (p.clock_seconds is None) == (("frame", snap.frame_id) not in events)
    # The plan is JSON for medium_apply_v2, and every new row id is distinct.
    doc = p.to_json()
    new_ids = [r["id"] for key in ("outcomes", "solids", "open_windows") for r in doc[key]]
    assert len(new_ids) == len(set(new_ids))


def snapshot(**kw: Any) -> route.RouteSnapshot:
    me, other = uuid.UUID(int=1), uuid.UUID(int=2)
    base: dict[str, Any] = dict(
        frame_id=uuid.UUID(int=9), mode="personal", perceive=True, perceive_seconds=3.0, clock_seconds=0,
        window=route.WindowRef(id=uuid.UUID(int=10), character_id=me, status="claimed",
                               trigger_mode="expiry", pscale=-2),
        users={me: uuid.UUID(int=101), other: uuid.UUID(int=102)}, open_windows={},
        committed={uuid.UUID(int=10): (uuid.UUID(int=20),)})
    base.update(kw)
    return route.RouteSnapshot(**base)


def involving(*cids: UUID, interrupt: UUID | None = None) -> route.MediumResult:
    me = uuid.UUID(int=1)
    return route.MediumResult(output=MediumOutput(
        outcome=ActionOutcome(actions_resolved=[ResolvedAction(character_id=me, action="a", result="success")],
                              characters_involved=list(cids),
                              interrupts=[Interrupt(target_character_id=interrupt, reason="cut")] if interrupt else []),
        narrative="You do it."))


def test_event_order_matches_the_reference_route() -> None:
    """outcome, narrative, liquid, timer, then interrupt timers, then the clock."""
    other = uuid.UUID(int=2)
    old = route.WindowRef(id=uuid.UUID(int=30), character_id=other, status="open", trigger_mode="expiry", pscale=-1)
    snap = snapshot(open_windows={other: old}, committed={uuid.UUID(int=10): (uuid.UUID(int=20),),
                                                          old.id: (uuid.UUID(int=31),)})
    p = route.plan(snap, involving(other, interrupt=other), CLOCK.now(), ids=ids_from(2))
    assert [e.type for e in p.events] == ["outcome", "narrative", "liquid", "timer", "timer", "timer", "frame"]
    assert p.cancel_windows == (old.id,)
    [nw] = p.open_windows
    assert (nw.trigger_mode, nw.pscale, nw.game_clock_at_open) == ("interrupt", -1, 0)
    assert p.move_liquid == (route.LiquidMove(uuid.UUID(int=31), nw.id, CLOCK.now()),)
    assert p.clock_seconds == 10  # a -2 action takes ~10 in-fiction seconds


def test_perceive_window_uses_the_frame_rule_scaled() -> None:
    other = uuid.UUID(int=2)
    clock = FakeClock()
    p = route.plan(snapshot(perceive_seconds=4.0), involving(other), clock.now(), time_scale=0.5)
    [pw] = p.open_windows
    assert pw.trigger_mode == "perceive"
    assert pw.due_at == clock.now() + timedelta(seconds=2)


def test_perceive_windows_coalesce_into_a_window_already_open() -> None:
    """A character already waiting (a perceive window, or its own action's window) gets no
    second window for a new outcome that involves it: the open one narrates both."""
    other = uuid.UUID(int=2)
    clock = FakeClock()
    first = route.plan(snapshot(), involving(other), clock.now())
    [pw] = first.open_windows
    waiting = route.WindowRef(id=pw.id, character_id=other, status="open", trigger_mode="perceive", pscale=-2)
    again = route.plan(snapshot(open_windows={other: waiting}), involving(other), clock.now())
    assert again.open_windows == ()
    assert again.perceive == ()


def test_npc_events_reach_only_the_gm() -> None:
    me = uuid.UUID(int=1)
    p = route.plan(snapshot(users={me: None}), involving(), CLOCK.now())
    assert all(e.audience == () for e in p.events if e.type in ("narrative", "liquid", "timer"))


# --- the commit decision ----------------------------------------------------------------------


def test_first_commit_opens_a_window_and_later_ones_join_without_moving_it() -> None:
    clock = FakeClock()
    t0 = clock.now()
    first = timing.commit_decision(mode="personal", pscale=-2, timer_duration=5, clock_seconds=40,
                                   open_window=None, now=t0, new_id=uuid.UUID(int=5))
    assert (first.opens, first.trigger_mode, first.game_clock_at_open) == (True, "expiry", 40)
    assert first.due_at == t0 + timedelta(seconds=5)
    clock.advance(3)
    later = timing.commit_decision(mode="personal", pscale=-1, timer_duration=15, clock_seconds=40,
                                   open_window=timing.OpenWindowRef(first.window_id, first.due_at),
                                   now=clock.now(), new_id=uuid.UUID(int=6))
    assert (later.opens, later.window_id, later.due_at) == (False, first.window_id, first.due_at)


@given(st.sampled_from(["personal", "shared"]), st.integers(-3, 2), st.floats(0.001, 900), st.booleans(),
       st.booleans())
def test_commit_decision_over_random_inputs(mode: str, pscale: int, duration: float, has_open: bool,
                                            has_frame_window: bool) -> None:
    now = CLOCK.now()
    open_w = timing.OpenWindowRef(uuid.UUID(int=3), now + timedelta(seconds=1)) if has_open else None
    frame_w = timing.OpenWindowRef(uuid.UUID(int=5), now + timedelta(seconds=2)) if has_frame_window else None
    d = timing.commit_decision(mode=mode, pscale=pscale, timer_duration=duration, clock_seconds=0,
                               open_window=open_w, frame_window=frame_w, now=now, new_id=uuid.UUID(int=4))
    if mode == "shared" and frame_w:  # shared: every commit joins the frame's window
        assert not d.opens
        assert d.window_id == frame_w.id
        assert d.due_at == frame_w.due_at
        assert d.scope == "frame"
    elif open_w:
        assert not d.opens
        assert d.window_id == open_w.id
        assert d.due_at == open_w.due_at
    elif mode == "shared":  # the first commit opens the frame's window, due after its timer
        assert d.opens
        assert d.trigger_mode == "commit"
        assert d.scope == "frame"
        assert d.due_at == now + timedelta(seconds=duration)
    else:
        assert d.opens
        assert d.scope == "character"
        assert d.due_at == now + timedelta(seconds=duration) > now


def test_commit_plan_refuses_a_liquid_that_is_not_a_draft() -> None:
    doc = {"frame": {"id": str(uuid.UUID(int=9)), "mode": "personal", "clock_seconds": 0},
           "liquid": {"id": str(uuid.UUID(int=1)), "status": "committed", "pscale": -2, "timer_duration": 5},
           "open_window": None, "user_id": None}
    with pytest.raises(Conflict, match="already committed"):
        commit.commit_plan(doc, CLOCK.now())
    doc["liquid"]["status"] = "submitted"  # type: ignore[index]
    plan = commit.commit_plan(doc, CLOCK.now(), ids=ids_from(3))
    assert plan["open_window"]["trigger_mode"] == "expiry"
    assert [e["type"] for e in plan["events"]] == ["liquid", "timer"]
    assert all(e["audience"] == [] for e in plan["events"])  # an NPC's: the GM only
