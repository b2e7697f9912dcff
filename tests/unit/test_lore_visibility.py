"""The lorebook's boundary in compiled directives (issue 16, must show): an affiliation entry
reaches its members (hidden members included) and no one else; a character entry only that
character; a gm entry never reaches a prompt; a keyword entry appears only when triggered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis import errors, gather, lore
from tests.unit.lore_docs import IDS, NAMES, doc, outcome
from tests.unit.lore_docs import lore as entry


def directive(viewer: str, **kw: object) -> str:
    inp = gather.build_medium_input(doc(viewer, **kw))  # type: ignore[arg-type]
    return "\n".join(compile_.directive_text(compile_.compile_directive(inp, json_mode=j)) for j in (False, True))


def readers(content: list[dict], marker: str, **kw: object) -> set[str]:
    return {n for n in NAMES if marker in directive(n, content=content, **kw)}


def test_an_affiliation_entry_reaches_its_members_hidden_ones_included_and_no_one_else() -> None:
    content = [entry("Safehouse", "LORE-SAFEHOUSE behind the moisture vaporators",
                     visibility="affiliation:Rebel Cell", always=True)]
    assert readers(content, "LORE-SAFEHOUSE") == {"Kessa", "Jax"}  # Kessa's membership is hidden


def test_a_character_entry_reaches_only_that_character() -> None:
    content = [entry("Debt", "LORE-DEBT you owe Jabba", visibility=f"character:{IDS['Greedo']}", always=True)]
    assert readers(content, "LORE-DEBT") == {"Greedo"}


def test_a_gm_entry_never_reaches_a_prompt_even_always_and_triggered() -> None:
    content = [entry("Twist", "LORE-TWIST the bartender is an Imperial spy", visibility="gm",
                     keywords=["door", "bartender"], always=True)]
    assert readers(content, "LORE-TWIST") == set()
    assert readers(content, "LORE-TWIST", mode="shared") == set()


def test_a_keyword_entry_appears_only_when_triggered() -> None:
    content = [entry("Spice", "LORE-SPICE spice from Kessel is contraband here", keywords=["spice", "Kessel run"])]
    assert readers(content, "LORE-SPICE", action="I wait by the door") == set()
    assert readers(content, "LORE-SPICE", action="I ask about SPICE prices") == set(NAMES)
    assert readers(content, "LORE-SPICE", action="I brag about the Kessel run.") == set(NAMES)
    assert readers(content, "LORE-SPICE", action="I sniff the spiced ale") == set()  # whole words only
    # the recent context triggers it too: an outcome in view names the keyword
    assert readers(content, "LORE-SPICE", outcomes=[outcome(1, "Boba", "Boba drops a spice crate")]) \
        == set(NAMES) - {"Boba"}  # Boba's own outcome is already incorporated, so not in his context


def test_a_shared_narration_carries_public_entries_only() -> None:
    content = [entry("Open", "LORE-OPEN the cantina never closes", always=True),
               entry("Cell", "LORE-CELL the cell meets at dusk", visibility="affiliation:Rebel Cell", always=True)]
    text = directive("Kessa", content=content, mode="shared")
    assert "LORE-OPEN" in text
    assert "LORE-CELL" not in text


def test_entries_are_ranked_action_then_context_then_always() -> None:
    content = [entry("A", "LORE-ALWAYS", always=True), entry("C", "LORE-CTX", keywords=["band"]),
               entry("X", "LORE-ACT", keywords=["door"])]
    inp = gather.build_medium_input(doc("Jax", content=content,
                                        outcomes=[outcome(1, "Greedo", "Greedo hums with the band")]))
    assert [c.split(": ")[1] for c in inp.content] == ["LORE-ACT", "LORE-CTX", "LORE-ALWAYS"]


VIS = ["public", "gm", "affiliation:Rebel Cell", *(f"character:{IDS[n]}" for n in NAMES)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VIS), st.booleans(), st.booleans()), min_size=1, max_size=8),
       st.sampled_from(NAMES), st.sampled_from(["personal", "shared"]))
def test_no_prompt_carries_an_entry_its_character_may_not_know(
        spec: list[tuple[str, bool, bool]], viewer: str, mode: str) -> None:
    content = [entry(f"T{i}", f"LORE{i}-MARK", visibility=v, keywords=["door"] if kw else [], always=al)
               for i, (v, kw, al) in enumerate(spec)]
    text = directive(viewer, content=content, mode=mode)
    members = {"Kessa", "Jax"}
    for i, (v, kw, al) in enumerate(spec):
        allowed = (v == "public" or (mode == "personal" and (
            (v == "affiliation:Rebel Cell" and viewer in members) or v == f"character:{IDS[viewer]}")))
        assert (f"LORE{i}-MARK" in text) == (allowed and (kw or al)), (v, kw, al, viewer, mode)


@pytest.mark.parametrize(("raw", "field"), [
    ({"title": "", "text": "x"}, "title"),
    ({"title": "t", "text": "  "}, "text"),
    ({"title": "t", "text": "x", "visibility": "affiliation:Nobody"}, "visibility"),
    ({"title": "t", "text": "x", "visibility": "character:Han"}, "visibility"),
    ({"title": "t", "text": "x", "visibility": "everyone"}, "visibility"),
    ({"title": "t", "text": "x", "keywords": "spice"}, "keywords"),
    ({"title": "t", "text": "x", "keywords": ["", "a"]}, "keywords"),
    ({"title": "t", "text": "x", "always": "yes"}, "always"),
    ({"title": "t", "text": "x", "secret": 1}, "secret"),
])
def test_a_bad_entry_is_refused_naming_the_field(raw: dict, field: str) -> None:
    with pytest.raises(errors.InvalidInput) as e:
        lore.check(raw, affiliations=["Rebel Cell"], characters={"Kessa": IDS["Kessa"]}, where="lore[0].")
    assert e.value.field == f"lore[0].{field}"


def test_a_good_entry_is_canonical() -> None:
    got = lore.check({"title": " Debt ", "text": "You owe Jabba", "keywords": ["jabba", "jabba", " hutt  cartel"],
                      "visibility": "character:Kessa"}, affiliations=[], characters={"Kessa": IDS["Kessa"]})
    assert got == {"title": "Debt", "text": "You owe Jabba", "keywords": ["jabba", "hutt cartel"],
                   "visibility": f"character:{IDS['Kessa']}", "always": False}


SECRET_LORE = "the vaporator shed behind the cantina hides the cell's spare blaster rifles"
PUBLIC_LORE = "the twin suns set late over the dune sea tonight"


def _inp_with_lore(viewer: str) -> object:
    content = [entry("Cache", SECRET_LORE, visibility="affiliation:Rebel Cell", always=True),
               entry("Suns", PUBLIC_LORE, always=True),
               entry("Debt", "you owe the hutt four thousand credits by dawn", visibility=f"character:{IDS[viewer]}",
                     always=True)]
    return gather.build_medium_input(doc(viewer, content=content))


def test_private_lore_is_a_secret_of_the_shared_layer_and_public_lore_is_not() -> None:
    from synthesis import guard
    from synthesis.types import ActionOutcome

    inp = _inp_with_lore("Kessa")
    g = guard.build(inp)  # type: ignore[arg-type]
    leak = ActionOutcome(world_facts=[SECRET_LORE, "Kessa owes the hutt four thousand credits by dawn", PUBLIC_LORE])
    assert [f.where for f in guard.check(leak, g, IDS["Kessa"])] == ["world_facts[0]", "world_facts[1]"]
    assert PUBLIC_LORE.split()[1] in " ".join(guard.public_texts(inp))  # type: ignore[arg-type]
    assert SECRET_LORE not in " ".join(guard.public_texts(inp))  # type: ignore[arg-type]


def test_the_blind_outcome_call_sees_public_lore_only_and_no_memory_or_own_recall() -> None:
    from synthesis import blind
    from synthesis.types import RecallView

    inp = _inp_with_lore("Kessa").model_copy(update={  # type: ignore[attr-defined]
        "memory": "MEMORY-PRIVATE you hid the codes", "recalled": [
            RecallView(kind="narrative", seq=2, narrative="RECALL-OWN you hid the codes in your boot")]})
    text = "\n".join(m["content"] for m in blind.outcome_messages(inp, json_mode=False))
    assert PUBLIC_LORE in text
    assert SECRET_LORE not in text
    assert "hutt four thousand" not in text
    assert "MEMORY-PRIVATE" not in text
    assert "RECALL-OWN" not in text
    full = compile_.directive_text(compile_.compile_directive(inp))
    assert SECRET_LORE in full  # the narrative call (and guarded mode) keep them
    assert "MEMORY-PRIVATE" in full
