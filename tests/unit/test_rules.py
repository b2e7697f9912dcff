"""The designer's rules (synthesis/rules.py): validation, the GM view, the change log, and the
interrupt policy as route.plan applies it."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from synthesis import route, rules
from synthesis.clock import FakeClock
from synthesis.types import Frame
from tests.unit.test_route import involving, snapshot


def test_interrupt_policy_off_records_the_interrupt_but_cancels_and_wakes_no_one() -> None:
    other = uuid.UUID(int=2)
    old = route.WindowRef(id=uuid.UUID(int=30), character_id=other, status="open", trigger_mode="expiry", pscale=-1)
    committed = {uuid.UUID(int=10): (uuid.UUID(int=20),), old.id: (uuid.UUID(int=31),)}
    now = FakeClock().now()
    allowed = route.plan(snapshot(open_windows={other: old}, committed=committed),
                         involving(other, interrupt=other), now)
    assert allowed.cancel_windows == (old.id,)
    off = route.plan(snapshot(open_windows={other: old}, committed=committed, interrupt_policy="off"),
                     involving(other, interrupt=other), now)
    assert off.cancel_windows == ()
    assert off.open_windows == ()  # its own window is open: it narrates this when that closes
    assert off.move_liquid == ()
    assert off.outcome is not None
    assert [i["target_character_id"] for i in off.outcome.interrupts] == [str(other)]


def test_the_policy_is_read_from_the_frame_rules() -> None:
    assert rules.interrupt_policy(None) == "allow"
    assert rules.interrupt_policy({"interrupt_policy": "off"}) == "off"
    assert rules.interrupt_policy({"interrupt_policy": "bogus"}) == "allow"


def test_rules_of_a_frame_fill_in_defaults_and_frame_edits_log_what_changed() -> None:
    f = Frame(id=uuid.UUID(int=1), name="F", world="W1")
    assert rules.rules_of(f) == {"pscale_windows": {}, "perceive": True, "perceive_seconds": 3.0,
                                 "npc_budget_per_hour": 120, "outcome_mode": "guarded",
                                 "review": False, "interrupt_policy": "allow", "prompt_budget": None}
    g = f.model_copy(update={"world": "W2", "review": True, "perceive_seconds": 1.0})
    assert rules.frame_edits(f, g) == [("world", {"from": "W1", "to": "W2"}),
                                       ("rules", {"perceive_seconds": {"from": 3.0, "to": 1.0},
                                                  "review": {"from": False, "to": True}})]
    assert rules.frame_edits(f, f) == []


@pytest.mark.parametrize("body", [{"prompt_budget": 499}, {"prompt_budget": 10**7}, {"interrupt_policy": "x"},
                                  {"pscale_windows": {"3": 1}}, {"pscale_windows": {"-1": 0}},
                                  {"perceive_seconds": 0}, {"review": "maybe"}, {"color": "red"}])
def test_bad_rules_are_refused(body: dict) -> None:
    with pytest.raises(ValidationError):
        rules.RulesPatch.model_validate(body)


def test_only_the_rules_given_reach_frames_rules() -> None:
    patch = rules.RulesPatch.model_validate({"review": False, "perceive": True, "prompt_budget": 900})
    assert patch.json_part() == {"prompt_budget": 900}
