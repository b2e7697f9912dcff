"""Memory summaries' boundary (issue 16, item 1, must show): a leaky summarizer cannot carry into
a character's memory anything it may not know; its own secrets and what it witnessed stay."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import memory
from synthesis.types import Affiliation, Character, Membership

F = uuid.UUID(int=1)
K, J, G = uuid.UUID(int=10), uuid.UUID(int=11), uuid.UUID(int=12)
CELL, GUILD, SHADOW = uuid.UUID(int=20), uuid.UUID(int=21), uuid.UUID(int=22)
CHARS = [
    Character(id=K, frame_id=F, name="Kessa Vorn", handle="kessa_vorn", universal="A freighter captain.",
              internal="She carries the stolen patrol codes in her left boot.", external="Cocky pilot."),
    Character(id=J, frame_id=F, name="Jax Orrun", handle="jax_orrun", universal="A licensed hunter.",
              internal="He hunts Kessa for the Hutt's bounty of five thousand credits.", external="Quiet, armed."),
    Character(id=G, frame_id=F, name="Gorrak", handle="gorrak", universal="The bartender.",
              internal="Gorrak sells gossip to the garrison sergeant every week.", external="Grumpy."),
]
AFFS = [
    Affiliation(id=CELL, frame_id=F, name="Rebel Cell", universal="Rumoured rebels.",
                internal="The contact wears a red scarf at the end of the bar."),
    Affiliation(id=GUILD, frame_id=F, name="Bounty Guild", universal="Licensed hunters.",
                internal="The open contract pays double if the captain is taken alive."),
    Affiliation(id=SHADOW, frame_id=F, name="Obsidian Circle", universal="Nobody knows it.",
                internal="The circle meets beneath the old spaceport tower."),
]
MEMBERS = [Membership(frame_id=F, character_id=K, affiliation_id=CELL, hidden=True),
           Membership(frame_id=F, character_id=J, affiliation_id=GUILD),
           Membership(frame_id=F, character_id=G, affiliation_id=SHADOW, hidden=True)]
WITNESSED = ["(#3, outcome) Jax Orrun sits down opposite Kessa (success) | facts: the band stops playing",
             "(#4, you) You feel the codes press against your ankle as Jax sits down."]
FORBIDDEN = [CHARS[1].internal, CHARS[2].internal, AFFS[1].internal, AFFS[2].internal,
             "You suspect the Obsidian Circle is behind it."]
ALLOWED = [CHARS[0].internal, AFFS[0].internal, "The band stops playing when Jax sits down.",
           "You feel the codes press against your ankle."]


def cleaned(text: str) -> tuple[str, int]:
    g = memory.boundary(K, CHARS, AFFS, MEMBERS, allowed=WITNESSED)
    return memory.clean(text, g)


def test_a_leaky_summary_loses_every_sentence_kessa_may_not_know_and_keeps_hers() -> None:
    leaky = " ".join([*ALLOWED[:2], *FORBIDDEN, *ALLOWED[2:]])
    text, dropped = cleaned(leaky)
    assert dropped == len(FORBIDDEN)
    for s in FORBIDDEN:
        assert s not in text
    for s in ALLOWED:
        assert s in text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(FORBIDDEN + ALLOWED), min_size=1, max_size=12))
def test_no_forbidden_sentence_survives_in_any_order(sentences: list[str]) -> None:
    text, dropped = cleaned(" ".join(sentences))
    assert dropped == sum(s in FORBIDDEN for s in sentences)
    for s in FORBIDDEN:
        assert s not in text
    for s in set(sentences) & set(ALLOWED):
        assert s in text


def test_what_a_member_may_know_depends_on_the_viewer() -> None:
    # Jax is in the Guild: its internal truth is his; Kessa's and the cell's are not.
    g = memory.boundary(J, CHARS, AFFS, MEMBERS)
    text, dropped = memory.clean(" ".join([AFFS[1].internal, CHARS[0].internal, AFFS[0].internal]), g)
    assert (text, dropped) == (AFFS[1].internal, 2)


def test_due_and_the_source_lines() -> None:
    assert not memory.due(memory.MEMORY_BUDGET_CHARS - 1)
    assert memory.due(memory.MEMORY_BUDGET_CHARS)
    src = {"solids": [{"id": "s", "seq": 5, "narrative": "You wait.\n  Then you leave."}],
           "outcomes": [{"id": "o", "seq": 4, "actions_resolved": [{"character_id": str(J), "action": "sits",
                                                                    "result": "success"}], "world_facts": ["x"]}]}
    assert memory.source_lines(src, {str(J): "Jax"}) == ["(#4, outcome) Jax sits (success) | facts: x",
                                                         "(#5, you) You wait. Then you leave."]
