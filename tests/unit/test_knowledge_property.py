"""The knowledge boundary (DESIGN §4), property-tested over random frames.

A synthetic gather document (the shape ``medium_gather_v2`` returns) goes through the real
``gather.build_medium_input`` → ``knowledge`` → ``compile.compile_directive`` path, text and JSON
variants, for every character of the frame. Every truth text is a unique marker, so a substring
check means exactly "this fact reached the prompt".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis import gather
from synthesis.types import Affiliation, Character, Membership
from tests.boundary import assert_boundary

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# No name is a substring of another, so "a line about Y" is unambiguous.
NAMES = ["Alder Quill", "Birch Marrow", "Cedar Voss", "Damson Pike", "Elm Okafor", "Fenn Larch"]


@dataclass
class World:
    frame_id: UUID
    mode: str
    nonce: int
    characters: list[Character]
    affiliations: list[Affiliation]
    memberships: list[Membership]
    solids: dict[UUID, list[str]]
    trigger: str
    with_action: list[bool]


@st.composite
def worlds(draw: st.DrawFn, *, mode: str = "personal") -> World:
    n_chars = draw(st.integers(2, 6))
    n_affs = draw(st.integers(0, 4))
    nonce = draw(st.integers(1000, 9999))
    frame_id = uuid.uuid4()
    players = draw(st.lists(st.booleans(), min_size=n_chars, max_size=n_chars))
    chars = [Character(id=uuid.uuid4(), frame_id=frame_id, name=NAMES[i], handle=f"h{i}_{nonce}",
                       user_id=uuid.uuid4() if players[i] else None,
                       universal=f"UNI-C{i}-{nonce}", internal=f"INT-C{i}-{nonce}",
                       external=f"EXT-C{i}-{nonce}")
             for i in range(n_chars)]
    affs = [Affiliation(id=uuid.uuid4(), frame_id=frame_id, name=f"AFFNAME-A{j}-{nonce}",
                        universal=f"UNI-A{j}-{nonce}", internal=f"INT-A{j}-{nonce}",
                        external=f"EXT-A{j}-{nonce}")
            for j in range(n_affs)]
    # None: not a member; False: public membership; True: hidden membership.
    grid = draw(st.lists(st.sampled_from([None, False, True]),
                         min_size=n_chars * n_affs, max_size=n_chars * n_affs))
    members = [Membership(frame_id=frame_id, character_id=c.id, affiliation_id=a.id, hidden=hidden)
               for (c, a), hidden in zip(((c, a) for c in chars for a in affs), grid, strict=True)
               if hidden is not None]
    return World(
        frame_id=frame_id, mode=mode, nonce=nonce, characters=chars, affiliations=affs,
        memberships=members,
        solids={c.id: [f"SOLID-C{i}-{nonce} earlier narrative"] for i, c in enumerate(chars)},
        trigger=draw(st.sampled_from(["expiry", "interrupt", "perceive", "commit"])),
        with_action=draw(st.lists(st.booleans(), min_size=n_chars, max_size=n_chars)),
    )


def _row(model: Character | Affiliation | Membership) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _liquid(w: World, i: int, *, status: str, window_id: UUID | None) -> dict[str, Any]:
    c = w.characters[i]
    return {"id": str(uuid.uuid4()), "frame_id": str(w.frame_id), "character_id": str(c.id),
            "user_id": str(c.user_id) if c.user_id else None, "content": f"ACT-C{i}-{w.nonce}",
            "pscale": -2, "timer_duration": 5.0, "status": status,
            "window_id": str(window_id) if window_id else None, "submitted_at": NOW.isoformat()}


def gather_doc(w: World, viewer: int) -> dict[str, Any]:
    """What medium_gather_v2 returns for ``viewer``: recent_solid holds only its own solids."""
    me = w.characters[viewer]
    window_id = uuid.uuid4()
    source = w.characters[(viewer + 1) % len(w.characters)]
    window = {"id": str(window_id), "frame_id": str(w.frame_id), "character_id": str(me.id),
              "status": "claimed", "trigger_mode": w.trigger, "pscale": -2,
              "opened_at": NOW.isoformat(), "due_at": NOW.isoformat(),
              "interrupt_reason": f"REASON-{w.nonce}" if w.trigger == "interrupt" else None,
              "interrupt_source_id": str(source.id) if w.trigger == "interrupt" else None}
    others = [i for i in range(len(w.characters)) if i != viewer and w.with_action[i]]
    outcomes = [{"id": str(uuid.uuid4()), "frame_id": str(w.frame_id), "window_id": str(uuid.uuid4()),
                 "seq": n + 1, "source_character_id": str(w.characters[i].id),
                 "actions_resolved": [{"character_id": str(w.characters[i].id),
                                       "action": f"DONE-C{i}-{w.nonce}", "result": "success"}],
                 "world_facts": [f"FACT-C{i}-{w.nonce}"],
                 "characters_involved": [str(w.characters[i].id), str(me.id)],
                 "interrupts": [], "pscale": -2, "game_clock": 10 * (n + 1)}
                for n, i in enumerate(others)]
    return {
        "window": window, "character_id": str(me.id),
        "frame": {"id": str(w.frame_id), "name": f"FRAME-{w.nonce}", "mode": w.mode,
                  "world": f"WORLD-{w.nonce}", "scenario": f"SCENARIO-{w.nonce}",
                  "pscale_windows": {}, "clock_seconds": 30, "event_seq": len(outcomes)},
        "characters": [_row(c) for c in w.characters],
        "affiliations": [_row(a) for a in w.affiliations],
        "memberships": [_row(m) for m in w.memberships],
        "content": [{"id": str(uuid.uuid4()), "frame_id": str(w.frame_id), "kind": "lore",
                     "body": f"LORE-{w.nonce}"}],
        "my_liquid": [_liquid(w, viewer, status="committed", window_id=window_id)]
        if w.with_action[viewer] else [],
        "open_liquid": [_liquid(w, i, status="committed" if i % 2 else "submitted", window_id=None)
                        for i in others],
        "outcomes": outcomes,
        "recent_solid": [{"id": str(uuid.uuid4()), "seq": 1, "narrative": text, "trigger_mode": "expiry",
                          "game_clock": 0} for text in w.solids[me.id]],
        "incorporated_through": 0,
        "snapshot_seq": len(outcomes),
    }


def directives(w: World, viewer: int) -> dict[str, str]:
    inp = gather.build_medium_input(gather_doc(w, viewer))
    return {mode: compile_.directive_text(compile_.compile_directive(inp, json_mode=mode == "json"))
            for mode in ("text", "json")}


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_every_directive_keeps_the_knowledge_boundary(w: World) -> None:
    for i, me in enumerate(w.characters):
        for variant, text in directives(w, i).items():
            assert_boundary(text, me.id, w.characters, w.affiliations, w.memberships,
                            solids=w.solids, label=variant)
            # Continuity of its own experience: its own solid is there, so the absence of
            # the others' solids above is a real check, not an artefact of an empty section.
            assert w.solids[me.id][0] in text


@settings(max_examples=50, deadline=None)
@given(worlds(mode="shared"))
def test_shared_mode_directive_reveals_no_secret_of_anyone(w: World) -> None:
    for i, me in enumerate(w.characters):
        for variant, text in directives(w, i).items():
            assert_boundary(text, me.id, w.characters, w.affiliations, w.memberships,
                            solids=w.solids, shared=True, label=f"shared {variant}")


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_public_memberships_are_shown_hidden_ones_are_not(w: World) -> None:
    """The positive side of the boundary: what a viewer may know does reach its prompt."""
    affs = {a.id: a for a in w.affiliations}
    for i, me in enumerate(w.characters):
        text = directives(w, i)["text"]
        mine = {m.affiliation_id for m in w.memberships if m.character_id == me.id}
        for m in w.memberships:
            if m.character_id == me.id:
                continue
            who = next(c for c in w.characters if c.id == m.character_id)
            line = next(x for x in text.splitlines() if x.startswith(f"- [{who.handle}] "))
            a = affs[m.affiliation_id]
            if m.hidden:
                assert a.name not in line
            else:
                assert a.name in line, f"{who.name}'s public membership of {a.name} is missing"
                assert a.universal in text
                assert a.external in text
                if a.id not in mine:
                    assert a.internal not in text
