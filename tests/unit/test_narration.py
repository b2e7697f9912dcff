"""GM narration's plan (synthesis/narration.py): pure, no database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from synthesis import narration, pacing
from synthesis.clock import FakeClock
from synthesis.errors import InvalidInput
from synthesis.types import Window


def test_one_gm_outcome_and_a_perceive_window_for_each_idle_involved_character() -> None:
    clock = FakeClock()
    now = clock.now()
    busy, idle, npc, other = (uuid.uuid4() for _ in range(4))
    user = uuid.uuid4()
    w = Window(id=uuid.uuid4(), frame_id=uuid.uuid4(), character_id=busy, status="open",
               trigger_mode="expiry", pscale=-1, opened_at=now, due_at=now + timedelta(seconds=9))
    snap = pacing.PaceSnapshot(w.frame_id, None, (w,), {busy: uuid.uuid4(), idle: user, npc: None, other: None},
                               clock_seconds=420, perceive_seconds=2.0)
    plan = narration.narrate(snap, text="  The lights die  ", characters_involved=[busy, idle, npc, idle],
                             world_facts=["dark", " "], now=now, time_scale=0.5)
    [o] = plan.outcomes
    assert (o["source"], o["source_character_id"], o["narration"]) == ("gm", None, "The lights die")
    assert o["window_id"] == o["id"] == plan.extra["outcome_id"]
    assert (o["actions_resolved"], o["world_facts"], o["game_clock"]) == ([], ["dark"], 420)
    assert o["characters_involved"] == [busy, idle, npc]
    assert [x["character_id"] for x in plan.open_windows] == [idle, npc]
    assert all(x["due_at"] == now + timedelta(seconds=1) for x in plan.open_windows)  # 2 s x 0.5
    assert all(x["paused_remaining"] is None for x in plan.open_windows)
    assert [(e.type, e.audience) for e in plan.events] == [("outcome", None), ("timer", (user,)), ("timer", ())]
    assert not plan.set_paused
    assert plan.windows == ()

    paused = pacing.PaceSnapshot(snap.frame_id, now, (), snap.users, perceive_seconds=2.0)
    plan = narration.narrate(paused, text="x", characters_involved=[idle], world_facts=[], now=now)
    assert plan.open_windows[0]["paused_remaining"] == 2.0

    with pytest.raises(InvalidInput) as err:
        narration.narrate(snap, text="x", characters_involved=[uuid.uuid4()], world_facts=[], now=now)
    assert err.value.field == "characters_involved"
    with pytest.raises(InvalidInput) as err:
        narration.narrate(snap, text=" ", characters_involved=[], world_facts=[], now=now)
    assert err.value.field == "text"


def test_a_shared_frame_gets_no_perceive_windows() -> None:
    now = FakeClock().now()
    c = uuid.uuid4()
    snap = pacing.PaceSnapshot(uuid.uuid4(), None, (), {c: uuid.uuid4()}, mode="shared")
    plan = narration.narrate(snap, text="x", characters_involved=[c], world_facts=[], now=now)
    assert plan.open_windows == ()
    assert [e.type for e in plan.events] == ["outcome"]
    assert plan.outcomes[0]["characters_involved"] == [c]
