"""The epistemic view (issue 15, item 7): ``knowledge.epistemic`` over random frames.

The view and the prompt come from one walk, so: nothing the view lists as known is another
character's internal or a hidden membership; the view explains every one of those as withheld;
every known layer text reaches the compiled directive and no withheld one does; and the GM's
overrides (an added fact, redacted facts) change the directive exactly as the view says.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis import gather, knowledge
from synthesis.types import Affiliation, Character, Membership
from synthesis.types_epistemic import Epistemic, KnowledgeOverride
from tests.unit.test_knowledge_property import World, gather_doc, worlds

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LAYERS = ("universal", "external", "internal")


def view(w: World, me: Character, overrides: list[KnowledgeOverride] | None = None) -> Epistemic:
    return knowledge.epistemic(me.id, w.characters, w.affiliations, w.memberships, overrides or [])


def prompt(w: World, viewer: int, overrides: list[KnowledgeOverride]) -> str:
    doc: dict[str, Any] = gather_doc(w, viewer)
    doc["knowledge_overrides"] = [o.model_dump(mode="json") for o in overrides]
    inp = gather.build_medium_input(doc)
    return compile_.directive_text(compile_.compile_directive(inp))


def override(w: World, me: Character, kind: str, *, text: str = "", fact_id: str | None = None
             ) -> KnowledgeOverride:
    return KnowledgeOverride(id=uuid.uuid4(), frame_id=w.frame_id, character_id=me.id, kind=kind,  # type: ignore[arg-type]
                             text=text, fact_id=fact_id, created_at=NOW)


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_known_never_holds_a_secret_and_withheld_explains_each(w: World) -> None:
    names = {c.id: c.name for c in w.characters}
    affs = {a.id: a.name for a in w.affiliations}
    for me in w.characters:
        v = view(w, me)
        known_ids = {f.id for f in v.known}
        known_texts = {f.fact for f in v.known}
        withheld = {x.id: x for x in v.withheld}
        for c in w.characters:
            if c.id == me.id:
                continue
            fid = knowledge.fact_id("character", c.id, "internal")
            assert fid not in known_ids
            assert c.internal not in known_texts
            assert withheld[fid].reason == "private"
            assert withheld[fid].fact == c.internal
        for m in w.memberships:
            if m.character_id == me.id or not m.hidden:
                continue
            fid = knowledge.fact_id("membership", m.character_id, str(m.affiliation_id))
            assert fid not in known_ids
            assert withheld[fid].reason == "hidden"
            assert withheld[fid].fact == f"{names[m.character_id]}'s membership in {affs[m.affiliation_id]}"
        # Every fact is either known or withheld, never both.
        assert not known_ids & set(withheld)


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_the_view_and_the_directive_agree(w: World) -> None:
    for i, me in enumerate(w.characters):
        v = view(w, me)
        text = prompt(w, i, [])
        for f in v.known:
            if f.layer in LAYERS:
                assert f.fact in text, f"known {f.id} is missing from the directive"
        for x in v.withheld:
            if x.layer in LAYERS:
                assert x.fact not in text, f"withheld {x.id} ({x.reason}) reached the directive"
        assert knowledge.build_knowledge(me.id, w.characters, w.affiliations, w.memberships) == v.knowledge


@settings(max_examples=60, deadline=None)
@given(worlds(), st.data())
def test_overrides_add_and_redact_in_the_directive(w: World, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(w.characters) - 1))
    me = w.characters[i]
    facts = view(w, me).known  # layers and memberships alike
    chosen = data.draw(st.lists(st.sampled_from(facts), unique_by=lambda f: f.id, max_size=4))
    added = f"GMFACT-{w.nonce} the vault code is 7-4-1"
    ovs = [override(w, me, "add", text=added), *(override(w, me, "redact", fact_id=f.id) for f in chosen)]
    v = view(w, me, ovs)
    text = prompt(w, i, ovs)
    assert added in text
    assert any(f.source == "gm_override" and f.fact == added for f in v.known)
    redacted = {x.id: x for x in v.withheld if x.reason == "redacted"}
    assert not {f.id for f in v.known} & {x.id for x in v.withheld}
    for f in chosen:
        assert f.id in redacted
        assert redacted[f.id].fact == f.fact
        if f.layer in LAYERS:
            assert f.fact not in text
    for x in v.withheld:  # what a redacted membership takes with it is gone from the prompt too
        if x.layer in LAYERS:
            assert x.fact not in text, f"withheld {x.id} ({x.reason}) reached the directive"
    # Someone else's override of this character's knowledge is not this character's.
    other = w.characters[(i + 1) % len(w.characters)]
    assert added not in prompt(w, (i + 1) % len(w.characters), ovs)
    assert view(w, other, ovs).knowledge.gm_facts == []


def test_the_issue_example_hidden_membership_is_withheld_with_its_reason() -> None:
    fid = uuid.uuid4()
    alice = Character(id=uuid.uuid4(), frame_id=fid, name="Alice", handle="alice", internal="afraid")
    bob = Character(id=uuid.uuid4(), frame_id=fid, name="Bob", handle="bob", internal="a cop")
    unit = Affiliation(id=uuid.uuid4(), frame_id=fid, name="NYPD Undercover Unit", internal="the raid")
    m = Membership(frame_id=fid, character_id=bob.id, affiliation_id=unit.id, hidden=True)
    v = knowledge.epistemic(alice.id, [alice, bob], [unit], [m])
    reasons = {(x.fact, x.reason) for x in v.withheld}
    assert ("Bob's membership in NYPD Undercover Unit", "hidden") in reasons
    assert ("a cop", "private") in reasons
    assert ("the raid", "hidden") in reasons  # the unit reaches Alice only through a hidden membership
    assert {(f.fact, f.layer, f.source) for f in v.known} == {("afraid", "internal", "own")}


def test_redacting_a_membership_takes_the_group_with_it() -> None:
    """Kessa's own secret membership redacted: she is no longer told she is in the Cell, nor its
    private truth; Dax's public membership redacted: a group only he reached her through is gone."""
    fid = uuid.uuid4()
    kessa = Character(id=uuid.uuid4(), frame_id=fid, name="Kessa", handle="kessa")
    dax = Character(id=uuid.uuid4(), frame_id=fid, name="Dax", handle="dax")
    cell = Affiliation(id=uuid.uuid4(), frame_id=fid, name="Cell", universal="CELL-UNI", internal="CELL-INT")
    guild = Affiliation(id=uuid.uuid4(), frame_id=fid, name="Guild", external="GUILD-EXT", internal="GUILD-INT")
    mems = [Membership(frame_id=fid, character_id=kessa.id, affiliation_id=cell.id, hidden=True),
            Membership(frame_id=fid, character_id=dax.id, affiliation_id=guild.id)]
    w = World(frame_id=fid, mode="personal", nonce=1, characters=[kessa, dax], affiliations=[cell, guild],
              memberships=mems, solids={kessa.id: ["earlier"], dax.id: []}, trigger="expiry",
              with_action=[True, False])
    before = view(w, kessa)
    assert {g.name for g in before.knowledge.groups} == {"Cell", "Guild"}
    ovs = [override(w, kessa, "redact", fact_id=knowledge.fact_id("membership", kessa.id, str(cell.id))),
           override(w, kessa, "redact", fact_id=knowledge.fact_id("membership", dax.id, str(guild.id)))]
    after = view(w, kessa, ovs)
    assert after.knowledge.groups == []
    assert after.knowledge.me.affiliations == []
    assert [o.affiliations for o in after.knowledge.others] == [[]]
    reasons = {(x.fact, x.reason) for x in after.withheld}
    assert {("CELL-INT", "redacted"), ("CELL-UNI", "redacted"), ("GUILD-EXT", "redacted"),
            ("GUILD-INT", "redacted")} <= reasons
    text = prompt(w, 0, ovs)
    for secret in ("CELL-INT", "CELL-UNI", "GUILD-EXT", "Cell", "Guild"):
        assert secret not in text
    assert "CELL-INT" in prompt(w, 0, [])
