"""Shared mode is one Medium (issue 12, item 4): pure rules, no database.

Commits within the frame's window coalesce into one frame-level window
(``timing.commit_decision``); ``route.plan`` on that window writes one outcome resolving every
coalesced character's action and one shared solid whose audience is every participant. Time
comes from a FakeClock; hypothesis draws who commits, when, and the timers.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import commit, route, timing
from synthesis.clock import FakeClock
from synthesis.types import ActionOutcome, Interrupt, MediumOutput, ResolvedAction


def ids_from(seed: int) -> Any:
    counter = itertools.count()
    return lambda: uuid.UUID(int=(seed << 64) + next(counter) + 1)


@dataclass
class FrameWindow:
    """A frame-level window as the commit snapshot shows it, and the liquid that joined it."""

    id: UUID
    opener: UUID
    due_at: datetime
    liquid: list[tuple[UUID, UUID]] = field(default_factory=list)  # (liquid id, character id)


def run_commits(commits: list[tuple[float, int, float]], chars: list[UUID], clock: FakeClock,
                ) -> list[FrameWindow]:
    """Replay commits (seconds after the start, which character, its timer) through
    ``commit_decision`` in shared mode. A frame window closes (the worker claims it) once the
    clock reaches its due time; until then every commit joins it."""
    ids = ids_from(7)
    closed: list[FrameWindow] = []
    current: FrameWindow | None = None
    start = clock.now()
    for offset, who, timer in sorted(commits, key=lambda c: c[0]):
        clock.set(start + timedelta(seconds=offset))
        if current is not None and clock.now() >= current.due_at:
            closed.append(current)
            current = None
        character = chars[who]
        frame_ref = timing.OpenWindowRef(current.id, current.due_at) if current else None
        own = frame_ref if current is not None and current.opener == character else None
        d = timing.commit_decision(mode="shared", pscale=-2, timer_duration=timer, clock_seconds=0,
                                   open_window=own, frame_window=frame_ref, now=clock.now(), new_id=ids())
        if current is None:
            assert d.opens
            assert d.scope == "frame"
            assert d.trigger_mode == "commit"
            assert d.due_at == clock.now() + timedelta(seconds=timer)  # the opening liquid's timer
            current = FrameWindow(d.window_id, character, d.due_at)
        else:  # any character's commit joins the frame's window, and never moves its expiry
            assert not d.opens
            assert d.scope == "frame"
            assert (d.window_id, d.due_at) == (current.id, current.due_at)
        current.liquid.append((ids(), character))
    if current is not None:
        closed.append(current)
    return closed


def shared_snapshot(fw: FrameWindow, users: dict[UUID, UUID | None], *, frame_mode: str = "shared"
                    ) -> route.RouteSnapshot:
    window = route.WindowRef(id=fw.id, character_id=fw.opener, status="claimed", trigger_mode="commit",
                             pscale=-2, scope="frame")
    doc_participants = tuple(u for u in users.values() if u is not None)
    return route.RouteSnapshot(
        frame_id=uuid.UUID(int=99), mode=route.shared_narration(frame_mode, window.scope), perceive=True,
        perceive_seconds=3.0, clock_seconds=0, window=window, users=users, open_windows={},
        committed={fw.id: tuple(lid for lid, _ in fw.liquid)}, participants=doc_participants,
        liquid_owner=dict(fw.liquid))


def shared_result(fw: FrameWindow, *, interrupt: list[UUID] | None = None) -> route.MediumResult:
    acting = list(dict.fromkeys(c for _, c in fw.liquid))
    outcome = ActionOutcome(
        actions_resolved=[ResolvedAction(character_id=c, action=f"acts {n}", result="success")
                          for n, c in enumerate(acting)],
        characters_involved=[fw.opener],
        interrupts=[Interrupt(target_character_id=t, reason="cut") for t in interrupt or []])
    return route.MediumResult(output=MediumOutput(outcome=outcome, narrative="Everyone acts at once."),
                              source_liquid_ids=tuple(lid for lid, _ in fw.liquid), narrator="scripted")


@st.composite
def shared_frames(draw: Any) -> tuple[list[UUID], dict[UUID, UUID | None], list[tuple[float, int, float]]]:
    n = draw(st.integers(min_value=2, max_value=6))
    chars = [uuid.UUID(int=1000 + i) for i in range(n)]
    users = {c: (uuid.UUID(int=2000 + i) if draw(st.booleans()) else None) for i, c in enumerate(chars)}
    commits = draw(st.lists(st.tuples(st.floats(0, 60), st.integers(0, n - 1), st.floats(0.5, 20)),
                            min_size=1, max_size=12))
    return chars, users, commits


@settings(max_examples=200, deadline=None)
@given(shared_frames())
def test_commits_within_the_frame_window_make_one_medium_resolving_them_all(
        scene: tuple[list[UUID], dict[UUID, UUID | None], list[tuple[float, int, float]]]) -> None:
    chars, users, commits = scene
    clock = FakeClock()
    windows = run_commits(commits, chars, clock)
    assert sum(len(w.liquid) for w in windows) == len(commits)  # every commit joined exactly one
    players = {u for u in users.values() if u is not None}
    for fw in windows:
        snap = shared_snapshot(fw, users)
        assert set(snap.coalesced()) == {c for _, c in fw.liquid}
        p = route.plan(snap, shared_result(fw), clock.now(), ids=ids_from(3))
        # One outcome resolving every coalesced character's action, involving all of them.
        assert p.outcome is not None
        acting = {c for _, c in fw.liquid}
        assert {a["character_id"] for a in p.outcome.actions_resolved} == {str(c) for c in acting}
        assert acting <= set(p.outcome.characters_involved)
        # One shared solid, every participant its audience.
        [solid] = p.solids
        assert set(solid.participant_user_ids) == players
        events = {(e.type, e.ref_id): e for e in p.events}
        assert set(events[("narrative", solid.id)].audience or ()) == players
        assert solid.source_liquid_ids == [lid for lid, _ in fw.liquid]
        # Every joined liquid resolves, each announced to its own character's user only.
        assert set(p.resolve_liquid) == {lid for lid, _ in fw.liquid}
        for lid, c in fw.liquid:
            assert events[("liquid", lid)].audience == snap.audience(c)
        # The frame-level window's timer is every member's, not only its opener's.
        assert events[("timer", fw.id)].audience is None
        # No perceive windows, and no window for any character at all: one Medium did it all.
        assert p.open_windows == ()
        assert p.cancel_windows == ()


def test_three_commits_in_the_window_are_one_window_one_outcome_one_shared_solid() -> None:
    """The reference case: A, B and C commit 0, 2 and 3 s into a 5 s frame window."""
    a, b, c = (uuid.UUID(int=i) for i in (1, 2, 3))
    users: dict[UUID, UUID | None] = {a: uuid.UUID(int=11), b: uuid.UUID(int=12), c: uuid.UUID(int=13)}
    clock = FakeClock()
    t0 = clock.now()
    [fw] = run_commits([(0, 0, 5.0), (2, 1, 5.0), (3, 2, 15.0)], [a, b, c], clock)
    assert fw.due_at == t0 + timedelta(seconds=5)
    assert fw.opener == a
    clock.set(fw.due_at)
    # The model also tries to interrupt B, whose action this very outcome resolves: ignored.
    p = route.plan(shared_snapshot(fw, users), shared_result(fw, interrupt=[b]), clock.now(), ids=ids_from(4))
    assert p.outcome is not None
    assert [x["character_id"] for x in p.outcome.actions_resolved] == [str(a), str(b), str(c)]
    assert p.outcome.characters_involved[:3] == [a, b, c]
    [solid] = p.solids
    assert solid.participant_user_ids == sorted(users.values(), key=str)  # type: ignore[arg-type]
    assert p.open_windows == ()
    assert p.interrupted == ()
    assert [e.type for e in p.events] == ["outcome", "narrative", "liquid", "liquid", "liquid", "timer", "frame"]


def test_a_commit_after_the_frame_window_closed_opens_the_next_one() -> None:
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    clock = FakeClock()
    first, second = run_commits([(0, 0, 5.0), (4.9, 1, 5.0), (5.0, 1, 4.0)], [a, b], clock)
    assert [c for _, c in first.liquid] == [a, b]
    assert (second.opener, [c for _, c in second.liquid]) == (b, [b])


def test_a_frame_window_is_narrated_shared_after_a_switch_back_to_personal() -> None:
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    users: dict[UUID, UUID | None] = {a: uuid.UUID(int=11), b: uuid.UUID(int=12)}
    [fw] = run_commits([(0, 0, 5.0), (1, 1, 5.0)], [a, b], FakeClock())
    snap = shared_snapshot(fw, users, frame_mode="personal")
    assert snap.mode == "shared"
    p = route.plan(snap, shared_result(fw), FakeClock().now(), ids=ids_from(5))
    assert set(p.solids[0].participant_user_ids) == {u for u in users.values() if u is not None}


def test_personal_mode_ignores_the_frame_window() -> None:
    """After a switch back to personal, a character's commit opens its own window."""
    now = FakeClock().now()
    frame_ref = timing.OpenWindowRef(uuid.UUID(int=3), now + timedelta(seconds=2))
    d = timing.commit_decision(mode="personal", pscale=-2, timer_duration=5, clock_seconds=0, open_window=None,
                               frame_window=frame_ref, now=now, new_id=uuid.UUID(int=4))
    assert (d.opens, d.scope, d.window_id) == (True, "character", uuid.UUID(int=4))


def test_commit_plan_opens_and_joins_the_frame_window() -> None:
    now = FakeClock().now()
    frame = {"id": str(uuid.UUID(int=9)), "mode": "shared", "clock_seconds": 0}
    liquid = {"id": str(uuid.UUID(int=1)), "status": "submitted", "pscale": -2, "timer_duration": 5}
    opened = commit.commit_plan({"frame": frame, "liquid": liquid, "open_window": None, "frame_window": None,
                                 "user_id": str(uuid.UUID(int=11))}, now, ids=ids_from(6))
    assert opened["open_window"]["scope"] == "frame"
    assert opened["open_window"]["trigger_mode"] == "commit"
    assert opened["open_window"]["due_at"] == (now + timedelta(seconds=5)).isoformat()
    fw = {"id": opened["window_id"], "due_at": opened["open_window"]["due_at"]}
    joined = commit.commit_plan({"frame": frame, "liquid": {**liquid, "id": str(uuid.UUID(int=2))},
                                 "open_window": None, "frame_window": fw, "user_id": str(uuid.UUID(int=12))},
                                now + timedelta(seconds=2), ids=ids_from(7))
    assert joined["window_id"] == opened["window_id"]
    assert joined["open_window"] is None
    assert [e["type"] for e in joined["events"]] == ["liquid"]
    assert joined["events"][0]["audience"] == [str(uuid.UUID(int=12))]
