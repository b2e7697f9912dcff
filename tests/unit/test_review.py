"""Hold for review (synthesis/review.py), pure: releasing a held outcome causes exactly what
routing it without review would have caused, and rejecting it gives the window back."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from hypothesis import assume, given, settings

from synthesis import review, route
from synthesis.clock import FakeClock
from synthesis.errors import Conflict, InvalidInput, NotFound
from synthesis.types import OutcomeRow
from tests.unit.test_route import ids_from, scenes

NOW = FakeClock().now()


def held_snapshot(snap: route.RouteSnapshot, held: route.RoutePlan) -> review.ReviewSnapshot:
    """What review_snapshot reads once ``held`` is applied: the window done, its liquid
    resolved, every other window as it was."""
    assert held.outcome is not None
    o = held.outcome
    row = OutcomeRow.model_validate({**dataclasses.asdict(o), "frame_id": snap.frame_id, "seq": 1, "held": True})
    after = dataclasses.replace(snap, window=dataclasses.replace(snap.window, status="done"),
                                committed={k: v for k, v in snap.committed.items() if k != snap.window.id})
    resolved = {lid: snap.liquid_owner.get(lid, snap.window.character_id) for lid in held.resolve_liquid}
    return review.ReviewSnapshot(route=after, outcome=row, solid_id=held.solids[0].id,
                                 solid_audience=snap.audience(snap.window.character_id), resolved_liquid=resolved)


def shape(opened: Any) -> list[tuple[Any, ...]]:
    return sorted((w.character_id, w.trigger_mode, w.due_at, w.interrupt_reason) for w in opened)


@settings(max_examples=300, deadline=None)
@given(scenes())
def test_release_causes_what_routing_without_review_causes(
        scene: tuple[route.RouteSnapshot, route.MediumResult]) -> None:
    snap, result = scene
    assume(snap.window.status not in ("done", "cancelled") and result.output.outcome is not None)
    plain = route.plan(snap, result, NOW, ids=ids_from(1))
    held = route.plan(dataclasses.replace(snap, review=True), result, NOW, ids=ids_from(1))
    assert held.held
    assert (held.cancel_windows, held.open_windows, held.move_liquid) == ((), (), ())
    assert [e.audience for e in held.events if e.type in ("outcome", "narrative")] == [(), ()]  # GM only
    assert held.resolve_liquid == plain.resolve_liquid

    plan = review.approve(held_snapshot(snap, held), NOW, ids=ids_from(2))
    assert plan.action == "approve"
    assert set(plan.effects.cancel) == set(plain.cancel_windows)
    assert shape(plan.effects.opened) == shape(plain.open_windows)
    assert sorted(m.id for m in plan.effects.moves) == sorted(m.id for m in plain.move_liquid)
    assert plan.events[0] == route.Event("outcome", held.outcome.id, None)  # type: ignore[union-attr]
    assert plan.seq_offset == 1
    narrative = next(e for e in plain.events if e.type == "narrative")
    if snap.mode == "personal":
        assert plan.events[1] == route.Event("narrative", held.solids[0].id, narrative.audience)


def test_reject_and_bad_edits() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    user = uuid.uuid4()
    w = route.WindowRef(id=uuid.uuid4(), character_id=me, status="done", trigger_mode="expiry", pscale=-2)
    snap = route.RouteSnapshot(frame_id=uuid.uuid4(), mode="personal", perceive=True, perceive_seconds=3,
                               clock_seconds=10, window=w, users={me: user, other: None}, open_windows={},
                               committed={})
    lid = uuid.uuid4()
    o = OutcomeRow(id=uuid.uuid4(), frame_id=snap.frame_id, window_id=w.id, seq=4, source_character_id=me,
                   actions_resolved=[{"character_id": str(me), "action": "a", "result": "success"}], pscale=-2,
                   held=True)
    rs = review.ReviewSnapshot(route=snap, outcome=o, solid_id=uuid.uuid4(), solid_audience=(user,),
                               resolved_liquid={lid: me})
    plan = review.reject(rs, NOW)
    assert (plan.action, plan.recommit_liquid) == ("reject", (lid,))
    assert plan.events == (route.Event("timer", w.id, (user,)), route.Event("liquid", lid, (user,)))
    assert plan.to_json()["error"] == review.REJECTED
    with pytest.raises(InvalidInput) as err:
        review.approve(rs, NOW, actions_resolved=[{"character_id": other, "action": "x", "result": "success"}])
    assert err.value.field == "actions_resolved"
    with pytest.raises(InvalidInput):
        review.approve(rs, NOW, actions_resolved=[{"character_id": me, "action": "x", "result": "meh"}])
    edited = review.approve(rs, NOW, world_facts=[" dark ", ""],
                            actions_resolved=[{"character_id": me, "action": "x", "result": "partial"}])
    assert edited.world_facts == ["dark"]
    assert edited.actions_resolved == [{"character_id": str(me), "action": "x", "result": "partial"}]
    with pytest.raises(NotFound):
        review.ReviewSnapshot.from_doc({"outcome": None})
    with pytest.raises(Conflict):
        review.ReviewSnapshot.from_doc({"outcome": {**o.model_dump(mode="json"), "held": False}, "window": {}})
