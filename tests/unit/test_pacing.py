"""Pacing rules (synthesis/pacing.py): pause, resume, resolve, extend, ready. Pure, with a
FakeClock; hypothesis checks that a pause never costs or gives any window time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import pacing, route
from synthesis.clock import FakeClock
from synthesis.errors import Conflict, Forbidden, InvalidInput, NotFound
from synthesis.types import Window

FRAME = uuid.uuid4()


def window(character_id: UUID, opened: datetime, due: datetime) -> Window:
    return Window(id=uuid.uuid4(), frame_id=FRAME, character_id=character_id, status="open",
                  trigger_mode="expiry", pscale=-2, opened_at=opened, due_at=due)


def applied(snap: pacing.PaceSnapshot, plan: pacing.GmPlan) -> pacing.PaceSnapshot:
    """What medium_gm_apply_v1 leaves behind, in memory."""
    changes = {c.id: c for c in plan.windows}
    windows = tuple(w.model_copy(update={"due_at": changes[w.id].due_at,
                                         "paused_remaining": changes[w.id].paused_remaining})
                    if w.id in changes else w for w in snap.windows)
    return pacing.PaceSnapshot(snap.frame_id, plan.paused_at if plan.set_paused else snap.paused_at,
                               windows, snap.users)


def test_the_reference_timeline_survives_a_pause_exactly() -> None:
    clock = FakeClock()
    t0 = clock.now()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ua, ub = uuid.uuid4(), uuid.uuid4()
    ws = (window(a, t0, t0 + timedelta(seconds=5)), window(b, t0 + timedelta(seconds=2), t0 + timedelta(seconds=7)),
          window(c, t0 + timedelta(seconds=3), t0 + timedelta(seconds=18)))
    snap = pacing.PaceSnapshot(FRAME, None, ws, {a: ua, b: ub, c: None})
    clock.advance(3.25)
    plan = pacing.pause(snap, clock.now())
    assert [w.paused_remaining for w in plan.windows] == [1.75, 3.75, 14.75]
    assert plan.events[0] == pacing.Event("frame", FRAME, None)
    assert [e.audience for e in plan.events[1:]] == [(ua,), (ub,), ()]  # an NPC's timer: the GM only
    paused = applied(snap, plan)
    assert [pacing.remaining(w, paused.paused_at, clock.now()) for w in paused.windows] == [1.75, 3.75, 14.75]
    clock.advance(600)  # ten minutes of pause: nothing moves
    assert [pacing.remaining(w, paused.paused_at, clock.now()) for w in paused.windows] == [1.75, 3.75, 14.75]
    resumed = applied(paused, pacing.resume(paused, clock.now()))
    assert resumed.paused_at is None
    assert [w.due_at - clock.now() for w in resumed.windows] == [
        timedelta(seconds=1.75), timedelta(seconds=3.75), timedelta(seconds=14.75)]
    assert all(w.paused_remaining is None for w in resumed.windows)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 10**10), st.integers(0, 10**10)), min_size=1, max_size=4))
def test_pauses_never_cost_or_give_time(spans: list[tuple[int, int]], cycles: list[tuple[int, int]]) -> None:
    """Any windows (microsecond times), any run of pause/resume cycles: after the last resume
    each window is due exactly as long after it as it had left before the first pause, less
    the running time between the cycles."""
    clock = FakeClock()
    t0 = clock.now()
    chars = [uuid.uuid4() for _ in spans]
    ws = tuple(window(c, t0 - timedelta(microseconds=before), t0 + timedelta(microseconds=left))
               for c, (before, left) in zip(chars, spans, strict=True))
    snap = pacing.PaceSnapshot(FRAME, None, ws, dict.fromkeys(chars))
    left = {w.id: w.due_at - clock.now() for w in ws}
    for running, paused_for in cycles:
        clock.set(clock.now() + timedelta(microseconds=running))
        left = {k: max(timedelta(0), v - timedelta(microseconds=running)) for k, v in left.items()}
        snap = applied(snap, pacing.pause(snap, clock.now()))
        clock.set(clock.now() + timedelta(microseconds=paused_for))
        snap = applied(snap, pacing.resume(snap, clock.now()))
        assert {w.id: w.due_at - clock.now() for w in snap.windows} == left


def test_a_window_opened_during_the_pause_keeps_its_whole_time() -> None:
    clock = FakeClock()
    c = uuid.uuid4()
    snap = pacing.PaceSnapshot(FRAME, None, (), {c: None})
    snap = applied(snap, pacing.pause(snap, clock.now()))
    clock.advance(40)
    queued = window(c, clock.now(), clock.now() + timedelta(seconds=15))  # a commit during the pause
    snap = pacing.PaceSnapshot(FRAME, snap.paused_at, (queued,), snap.users)
    clock.advance(100)
    snap = applied(snap, pacing.resume(snap, clock.now()))
    assert snap.windows[0].due_at == clock.now() + timedelta(seconds=15)


def test_resolve_closes_a_window_now_or_at_the_resume() -> None:
    clock = FakeClock()
    c = uuid.uuid4()
    w = window(c, clock.now(), clock.now() + timedelta(seconds=60))
    snap = pacing.PaceSnapshot(FRAME, None, (w,), {c: None})
    clock.advance(10)
    plan = pacing.resolve(snap, w.id, clock.now())
    assert plan.windows == (pacing.WindowChange(w.id, clock.now(), None),)
    assert not plan.set_paused
    paused = applied(snap, pacing.pause(snap, clock.now()))
    resolved = applied(paused, pacing.resolve(paused, w.id, clock.now()))
    assert resolved.windows[0].paused_remaining == 0.0
    clock.advance(30)
    assert applied(resolved, pacing.resume(resolved, clock.now())).windows[0].due_at == clock.now()
    with pytest.raises(Conflict) as err:
        pacing.resolve(snap, uuid.uuid4(), clock.now())
    assert err.value.field == "window_id"


def test_extend_adds_time_running_or_paused() -> None:
    clock = FakeClock()
    c = uuid.uuid4()
    w = window(c, clock.now(), clock.now() + timedelta(seconds=5))
    snap = pacing.PaceSnapshot(FRAME, None, (w,), {c: None})
    assert pacing.extend(snap, w.id, 30, clock.now()).windows[0].due_at == w.due_at + timedelta(seconds=30)
    clock.advance(9)  # already due, not yet claimed: 30 s from now
    assert pacing.extend(snap, w.id, 30, clock.now()).windows[0].due_at == clock.now() + timedelta(seconds=30)
    clock.set(w.opened_at + timedelta(seconds=2))
    paused = applied(snap, pacing.pause(snap, clock.now()))
    extended = applied(paused, pacing.extend(paused, w.id, 30, clock.now()))
    assert extended.windows[0].paused_remaining == 33.0
    for bad in (0, -1, pacing.MAX_EXTEND_SECONDS + 1):
        with pytest.raises(InvalidInput) as err:
            pacing.extend(snap, w.id, bad, clock.now())
        assert err.value.field == "seconds"


def test_ready_closes_only_my_own_window() -> None:
    clock = FakeClock()
    mine, theirs, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    me, them = uuid.uuid4(), uuid.uuid4()
    wm = window(mine, clock.now(), clock.now() + timedelta(seconds=60))
    wt = window(theirs, clock.now(), clock.now() + timedelta(seconds=60))
    snap = pacing.PaceSnapshot(FRAME, None, (wm, wt), {mine: me, theirs: them, second: me})
    plan = pacing.ready(snap, me, None, clock.now())
    assert [c.id for c in plan.windows] == [wm.id]
    assert plan.windows[0].due_at == clock.now()
    assert plan.events == (pacing.Event("timer", wm.id, (me,)),)
    with pytest.raises(Forbidden):
        pacing.ready(snap, me, theirs, clock.now())
    with pytest.raises(NotFound):
        pacing.ready(snap, me, uuid.uuid4(), clock.now())
    with pytest.raises(Conflict):
        pacing.ready(snap, me, second, clock.now())  # my other character has no open window
    with pytest.raises(Conflict):
        pacing.ready(pacing.PaceSnapshot(FRAME, None, (), snap.users), me, None, clock.now())
    ws = window(second, clock.now(), clock.now() + timedelta(seconds=60))
    both = pacing.PaceSnapshot(FRAME, None, (wm, wt, ws), snap.users)
    with pytest.raises(Conflict):
        pacing.ready(both, me, None, clock.now())
    assert [c.id for c in pacing.ready(both, me, second, clock.now()).windows] == [ws.id]


def test_pause_and_resume_refuse_the_wrong_state() -> None:
    clock = FakeClock()
    snap = pacing.PaceSnapshot(FRAME, None, (), {})
    with pytest.raises(Conflict):
        pacing.resume(snap, clock.now())
    paused = applied(snap, pacing.pause(snap, clock.now()))
    with pytest.raises(Conflict) as err:
        pacing.pause(paused, clock.now())
    assert err.value.field == "paused"


def test_a_window_a_commit_opens_while_paused_is_frozen_whole() -> None:
    clock = FakeClock()
    now = clock.now()
    opened = {"opened_at": now.isoformat(), "due_at": (now + timedelta(seconds=15, microseconds=7)).isoformat()}
    assert pacing.queued_remaining(now - timedelta(seconds=50), opened) == 15.000007
    assert pacing.queued_remaining(None, opened) is None
    assert pacing.queued_remaining(now, None) is None


def test_windows_a_synthesis_in_flight_opens_during_a_pause_are_frozen_whole() -> None:
    clock = FakeClock()
    now = clock.now()
    c = uuid.uuid4()
    perceive = route.NewWindow(id=uuid.uuid4(), character_id=c, trigger_mode="perceive", pscale=-2,
                               opened_at=now, due_at=now + timedelta(seconds=3), game_clock_at_open=0)
    interrupt = route.NewWindow(id=uuid.uuid4(), character_id=c, trigger_mode="interrupt", pscale=-2,
                                opened_at=now, due_at=now, game_clock_at_open=0)
    assert pacing.opened_while_paused(now.isoformat(), [perceive, interrupt]) == [(perceive.id, 3.0),
                                                                                  (interrupt.id, 0.0)]
    assert pacing.opened_while_paused(None, [perceive]) == []


def test_a_frame_level_windows_timer_reaches_every_member() -> None:
    clock = FakeClock()
    c = uuid.uuid4()
    w = window(c, clock.now(), clock.now() + timedelta(seconds=5)).model_copy(update={"scope": "frame"})
    snap = pacing.PaceSnapshot(FRAME, None, (w,), {c: uuid.uuid4()}, mode="shared")
    assert pacing.pause(snap, clock.now()).events[1] == pacing.Event("timer", w.id, None)
